/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The SMTP body encoder's fast path against the octet-at-a-time encoder it
 * replaced (tests/unit/body_octet.h), call for call: the first input octet
 * picks DATA or BDAT mode and 8-bit, the next ones the piece and window
 * sizes; the rest is the body. Any difference in status, octets consumed
 * or produced, output or state aborts.
 */
#include <stdlib.h>
#include <string.h>

#include "../unit/body_octet.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static uint8_t wf[512];
    static uint8_t wo[512];
    postie_body_encoder_t fast;
    postie_body_encoder_t old;
    size_t pos = 3;
    unsigned step = 0;

    if (size < 3) {
        return 0;
    }
    postie_body_init(&fast, (data[0] & 1) != 0, (data[0] & 2) != 0);
    postie_body_init(&old, (data[0] & 1) != 0, (data[0] & 2) != 0);
    while (pos < size) {
        size_t piece = 1 + (size_t)(data[1] ^ (uint8_t)(step * 37u)) % 97u;
        size_t cap = (size_t)(data[2] ^ (uint8_t)(step * 11u)) % sizeof(wf);
        size_t uf = 0;
        size_t uo = 0;
        size_t pf = 0;
        size_t po = 0;
        postie_status_t sf;
        postie_status_t so;
        if ((data[0] & 4) != 0) {
            piece = size - pos; /* the rest whole */
        }
        if (piece > size - pos) {
            piece = size - pos;
        }
        sf = postie_body_encode(&fast, data + pos, piece, &uf, wf, cap, &pf);
        so = old_encode(&old, data + pos, piece, &uo, wo, cap, &po);
        if (sf != so || uf != uo || pf != po || memcmp(wf, wo, pf) != 0 ||
            memcmp(&fast, &old, sizeof(fast)) != 0) {
            abort();
        }
        if (sf != POSTIE_OK || (uf == 0 && cap >= POSTIE_BODY_MAX_EXPANSION)) {
            break;
        }
        pos += uf;
        step++;
        if (step > 100000) {
            break;
        }
    }
    return 0;
}
