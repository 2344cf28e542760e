/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Helpers common to every transport.
 */
#include "postie/common/transport.h"

#include "postie/common/clock.h"

postie_status_t postie_transport_send_all(postie_transport_t *t, const uint8_t *buf, size_t len,
                                          uint32_t timeout_ms)
{
    uint32_t start = postie_clock_ms();
    size_t off = 0;

    if (t == NULL || (buf == NULL && len > 0)) {
        return POSTIE_E_INVALID_ARGUMENT;
    }
    /* Each pass moves at least one byte or returns, so the loop runs at most
     * len times; the deadline bounds it in time. */
    while (off < len) {
        uint32_t elapsed = postie_clock_ms() - start;
        size_t sent = 0;
        postie_status_t st;

        if (off > 0 && elapsed >= timeout_ms) {
            return POSTIE_E_TIMEOUT;
        }
        st = postie_transport_send(t, buf + off, len - off, &sent,
                                   elapsed < timeout_ms ? timeout_ms - elapsed : 0);
        if (st != POSTIE_OK) {
            return st;
        }
        if (sent == 0 || sent > len - off) {
            /* The transport broke its contract (OK means at least one byte,
             * never more than asked); stop rather than spin. */
            return POSTIE_E_IO;
        }
        off += sent;
    }
    return POSTIE_OK;
}
