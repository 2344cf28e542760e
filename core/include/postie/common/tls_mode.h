/* SPDX-License-Identifier: Apache-2.0 */
/*
 * How a connection uses TLS: one enum for the engines, the registry and the
 * ports. The zero value is the secure default, so a zero-filled
 * configuration never runs in clear by accident.
 */
#ifndef POSTIE_TLS_MODE_H
#define POSTIE_TLS_MODE_H

#ifdef __cplusplus
extern "C" {
#endif

typedef enum {
    POSTIE_TLS_STARTTLS_REQUIRED = 0,  /* STARTTLS (STLS) or stop before any credential */
    POSTIE_TLS_STARTTLS_OPPORTUNISTIC, /* STARTTLS when offered, plain otherwise */
    POSTIE_TLS_NONE,                   /* plain; never STARTTLS */
    POSTIE_TLS_IMPLICIT                /* TLS from the first byte (SMTPS, POP3S, IMAPS) */
} postie_tls_mode_t;

#ifdef __cplusplus
}
#endif

#endif /* POSTIE_TLS_MODE_H */
