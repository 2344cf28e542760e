/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The fetch state's text parser (core/fetch/fetch_state.c): any input is
 * refused or accepted without a fault, whole and fed in two pieces alike;
 * an accepted state formats back to text that parses to the same state.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "postie/fetch/fetch_state.h"

static postie_fetch_state_t st;
static postie_fetch_state_t again;
static char text[POSTIE_FETCH_STATE_TEXT_MAX];
static size_t text_len;

static postie_status_t collect(void *ctx, const char *data, size_t len)
{
    (void)ctx;
    if (len > sizeof(text) - text_len) {
        abort(); /* POSTIE_FETCH_STATE_TEXT_MAX is a lie */
    }
    memcpy(text + text_len, data, len);
    text_len += len;
    return POSTIE_OK;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    postie_fetch_state_parser_t p;
    postie_status_t whole = postie_fetch_state_parse(&st, (const char *)data, size, NULL);
    postie_status_t split;
    size_t cut = size / 2;

    postie_fetch_state_parse_begin(&p, &again);
    (void)postie_fetch_state_parse_feed(&p, (const char *)data, cut);
    (void)postie_fetch_state_parse_feed(&p, (const char *)data + cut, size - cut);
    split = postie_fetch_state_parse_end(&p);
    if ((whole == POSTIE_OK) != (split == POSTIE_OK)) {
        abort();
    }
    if (whole != POSTIE_OK) {
        return 0;
    }
    text_len = 0;
    if (postie_fetch_state_format(&st, collect, NULL) != POSTIE_OK ||
        postie_fetch_state_parse(&again, text, text_len, NULL) != POSTIE_OK) {
        abort();
    }
    if (again.protocol != st.protocol || again.clean != st.clean ||
        again.uidvalidity != st.uidvalidity || again.watermark != st.watermark ||
        again.count != st.count) {
        abort();
    }
    /* the same text: the form is canonical */
    if (text_len != size || memcmp(text, data, size) != 0) {
        abort();
    }
    return 0;
}
