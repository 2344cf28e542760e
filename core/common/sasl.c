/* SPDX-License-Identifier: Apache-2.0 */
#include "postie/common/sasl.h"

#include <string.h>

#include "postie/common/base64.h"
#include "postie/common/text.h"

postie_status_t postie_sasl_plain(const char *user, const char *password, char *out, size_t cap,
                                  size_t *out_len)
{
    uint8_t raw[2 * POSTIE_AUTH_FIELD_MAX + 2];
    size_t ulen = strlen(user);
    size_t plen = strlen(password);
    size_t n = 0;

    if (ulen > POSTIE_AUTH_FIELD_MAX || plen > POSTIE_AUTH_FIELD_MAX) {
        return POSTIE_E_FIELD_TOO_LONG;
    }
    raw[n++] = 0;
    memcpy(raw + n, user, ulen);
    n += ulen;
    raw[n++] = 0;
    memcpy(raw + n, password, plen);
    n += plen;
    postie_status_t st = postie_base64_encode(raw, n, out, cap, out_len);
    memset(raw, 0, sizeof(raw));
    return st;
}

uint32_t postie_sasl_mechanism(const char *w, size_t n)
{
    static const struct {
        const char *name;
        uint32_t bit;
    } known[] = {{"PLAIN", POSTIE_SASL_PLAIN},
                 {"LOGIN", POSTIE_SASL_LOGIN},
                 {"XOAUTH2", POSTIE_SASL_XOAUTH2},
                 {"OAUTHBEARER", POSTIE_SASL_OAUTHBEARER},
                 {"CRAM-MD5", POSTIE_SASL_CRAM_MD5}};
    for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++) {
        if (postie_ascii_ieq(w, n, known[i].name)) {
            return known[i].bit;
        }
    }
    return 0;
}
