/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The registry of named sessions, as the CLI reads it: --registry FILE,
 * else $POSTIE_REGISTRY, else POSTIE_REGISTRY_DEFAULT_PATH. Loaded once, on
 * first use; its warnings go to stderr then. Not thread-safe (the CLI has
 * one thread).
 */
#ifndef POSTIE_CLI_REGISTRY_H
#define POSTIE_CLI_REGISTRY_H

#include "postie/session/registry.h"

/* --registry FILE: the file to load (path must outlive the program's use
 * of the registry: an argv string). Before the first load only. */
void cli_registry_set_path(const char *path);

/* The --registry FILE given, or NULL. */
const char *cli_registry_path(void);

/* The exit status when the registry cannot be loaded or a session is not
 * found (default 2; sendmail mode uses EX_CONFIG). */
void cli_registry_set_exit(int code);

/* Load the registry (once) or exit 2 listing every problem; warnings go to
 * stderr. Returns the registry; *used (may be NULL) gets the file read. */
const postie_registry_t *cli_registry_load(const char **used);

/* The registry, loaded on first use (exits 2 listing its problems). */
const postie_registry_t *cli_registry(void);

/* The session NAME (any of its names: java:comp/env/mail/Notify,
 * mail/Notify...), or exit 2: "postie: no session NAME in FILE". */
const postie_session_t *cli_find_session(const char *name);

/* The account NAME, or exit 2: "postie: no account NAME in FILE". */
const postie_account_t *cli_find_account(const char *name);

/* A secret for a listing, masked: "******** (environment variable X, set)",
 * "******** (file F, readable)"..., never its value; on stdout. */
void cli_print_secret(const postie_secret_t *s);

#endif /* POSTIE_CLI_REGISTRY_H */
