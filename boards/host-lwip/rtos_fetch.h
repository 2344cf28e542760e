/* SPDX-License-Identifier: Apache-2.0 */
/* The RTOS program's fetch mode (see rtos_fetch.c). */
#ifndef POSTIE_HOST_LWIP_RTOS_FETCH_H
#define POSTIE_HOST_LWIP_RTOS_FETCH_H

#include <stdbool.h>
#include <stdio.h>

#include "postie/mbedtls/tls.h"

#include "host_lwip.h"

/* Log in to o->server:o->port with o->user/o->password over lwIP sockets
 * (o->fetch "pop3" or "imap"; o->mode "smtps" means implicit TLS, else
 * STLS/STARTTLS), look for the message tagged o->tag, log out. *found says
 * whether it was there; tls_version gets the TLS version; on failure *err
 * says why. */
postie_status_t rtos_fetch(const host_lwip_options_t *o, bool *found, char *tls_version,
                           size_t tls_cap, const postie_error_t **err);

#endif /* POSTIE_HOST_LWIP_RTOS_FETCH_H */
