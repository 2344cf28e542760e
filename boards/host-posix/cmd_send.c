/* SPDX-License-Identifier: Apache-2.0 */
/*
 * `postie send`: one message, raw (--message) or composed, to a server
 * given by options or by a named session, directly or through the outgoing
 * queue (--queue, --queue-only).
 *
 * Exit status: 0 every recipient accepted; 1 the message or some recipient
 * was refused; 2 bad usage or input; 3 the session failed (connect, TLS,
 * authentication, timeout, protocol); 4 like 3 but temporary (worth a retry).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "postie/common/text.h"
#include "postie/posix/host.h"
#include "postie/posix/registry_file.h"
#include "postie/posix/smtp_client.h"
#include "postie/session/session_map.h"
#include "postie/session/template.h"

#include "cli.h"
#include "cli_commands.h"
#include "cli_compose.h"
#include "cli_oauth.h"
#include "cli_input.h"
#include "cli_options.h"
#include "cli_output.h"
#include "cli_queue.h"
#include "cli_registry.h"
#include "cli_send_options.h"
#include "cli_syslog.h"

static const char send_usage[] =
    "usage: postie send --host HOST [--port N] [--connect-to ADDR]\n"
    "                   [--tls none|starttls|starttls-optional|implicit] [--ca-file FILE]\n"
    "                   [--timeout SECONDS] [--ehlo NAME]\n"
    "                   [--user NAME (--password-env VAR | --password-file FILE)]\n"
    "                   [--allow-plaintext-auth] [--no-pipelining] [--no-chunking]\n"
    "                   [--dsn-notify never|success,failure,delay] [--dsn-ret full|hdrs]\n"
    "                   [--envid ID] [--verbose]\n"
    "                   --from ADDR --to ADDR [--to ADDR ...]\n"
    "                   (--message FILE|- | COMPOSE OPTIONS)\n"
    "       postie send --session NAME [--as-user NAME] [--as-email ADDR] [--registry FILE]\n"
    "                   --to ADDR ... COMPOSE OPTIONS\n"
    "       postie send --queue|--queue-only [--spool DIR] --session NAME ...\n"
    "                   (store the message in the outgoing queue, then try it now;\n"
    "                   --queue-only leaves sending to `postie queue run` or a flush)\n"
    "       --syslog: one line per message sent, queued, delivered, deferred or failed\n"
    "                   to syslog (facility mail), with id, session, recipients, reply\n"
    "Options may come in any order.\n"
    "\n" CLI_COMPOSE_OPTIONS_HELP "\n"
    "NAME is a registry entry: java:comp/env/mail/Notify, java:/comp/env/mail/Notify\n"
    "and mail/Notify are the same. The registry is --registry FILE, else\n"
    "$POSTIE_REGISTRY, else " POSTIE_REGISTRY_DEFAULT_PATH ".\n"
    "\n"
    "With --message, sends a raw RFC 5322 message (line ends are normalised to\n"
    "CRLF): a regular file, or a stream (-, a pipe, a FIFO, /dev/stdin, <(cmd),\n"
    "a terminal) that is spooled to $TMPDIR first (at most 256 MiB) so SIZE= is\n"
    "exact. Devices and directories are refused; an attachment must be a\n"
    "regular file. An empty message or one holding a NUL is refused.\n"
    "Passwords are read from an environment variable or a file (a regular\n"
    "file, its first line), never from the command line. --tls defaults to\n"
    "starttls (required); certificates and host names are always verified.\n"
    "With --session, the session owns the server, port, TLS, CA file, login\n"
    "and From: --host, --port, --tls, --ca-file, --allow-plaintext-auth,\n"
    "--user, --password-*, --from and --from-name are refused; --connect-to,\n"
    "--ehlo, --timeout, --no-pipelining, --no-chunking, --verbose and the DSN\n"
    "options are honoured and override the session.\n"
    "With --queue, the spool is --spool DIR, else $POSTIE_SPOOL, else\n"
    "" POSTIE_SPOOL_DEFAULT_DIR "; exit 4 means the message waits in the queue.\n"
    "Exit: 0 all accepted, 1 refused, 2 usage, 3 session failed, 4 temporary failure.\n";

static void usage_error(const char *msg, const char *arg) CLI_NORETURN;

static void usage_error(const char *msg, const char *arg)
{
    cli_usage_error("send", msg, arg);
}

/* The password from --password-env VAR or --password-file FILE: the same
 * rules as a registry secret (postie_secret_read): never empty, never cut,
 * a file must be a regular file and is never waited on. A file that group
 * or others can read gets the registry's warning. Exits 2 naming the
 * option. */
static const char *read_password(const char *opt, postie_secret_kind_t kind, const char *name)
{
    static char secret[POSTIE_AUTH_FIELD_MAX + 1];
    postie_secret_t src = {kind, ""};
    const char *why = NULL;
    if (strlen(name) >= sizeof(src.value)) {
        cli_bad_value("send", opt, name, "is too long a name");
    }
    memcpy(src.value, name, strlen(name) + 1);
    if (postie_secret_read(&src, secret, sizeof(secret), &why) != POSTIE_OK) {
        cli_bad_value("send", opt, name, why != NULL ? why : "cannot be read");
    }
    if (postie_secret_exposed(&src)) {
        char shown[128];
        postie_text_copy_printable(shown, sizeof(shown), name, strlen(name));
        fprintf(stderr, "postie: warning: %s '%s': %s\n", opt, shown,
                POSTIE_SECRET_EXPOSED_WARNING);
    }
    return secret;
}

/* ---- the session --------------------------------------------------------------- */

/* Take transport, From, template and subject prefix from the session.
 *
 * The rule for options next to --session: the session decides where mail
 * goes and how safely (server, port, TLS, CA file, plaintext login, login,
 * From), so those options are refused (exit 2, naming the option); the
 * options that only tune the connection (--connect-to, --ehlo, --timeout,
 * --no-pipelining, --no-chunking, --verbose) and the DSN options are
 * honoured and override the session. */
static int apply_session(cli_send_options_t *o)
{
    static postie_session_t sess; /* a copy: a reload could not disturb it */
    static char password[POSTIE_AUTH_FIELD_MAX + 1];
    postie_template_user_t user = {o->as_user, o->as_email};
    postie_session_message_t m;
    postie_error_t why;
    postie_status_t st;

    if (o->session_conflict != NULL) {
        fprintf(stderr,
                "postie: --session defines the server, port, TLS, CA file, login and From: "
                "drop %s\n",
                o->session_conflict);
        fprintf(stderr, "Try 'postie send --help'.\n");
        exit(EXIT_USAGE);
    }
    sess = *cli_find_session(o->session);
    st = postie_session_prepare(&sess, &o->cfg, password, sizeof(password), &why);
    if (st != POSTIE_OK) {
        fprintf(stderr, "postie: session %s: cannot use its %s\n", sess.name, why.subject);
        return EXIT_USAGE;
    }
    if (sess.ep.auth == POSTIE_AUTH_OAUTH2) {
        /* the built-in token provider, from the session's oauth2 object */
        cli_oauth_set_verbose(o->cfg.smtp.log != NULL);
        o->cfg.token = cli_oauth_provider(&sess.ep, false, sess.name, &why);
        if (o->cfg.token == NULL) {
            fprintf(stderr, "postie: session %s: oauth2: %s\n", sess.name, why.subject);
            return EXIT_USAGE;
        }
    }
    if (o->ehlo != NULL) {
        o->cfg.smtp.ehlo_name = o->ehlo;
    }
    o->session_name = sess.name;
    /* From, display name, envelope sender, subject prefix: the core mapping */
    st = postie_session_map_message(&sess, &user, o->subject, o->from_name_buf,
                                    sizeof(o->from_name_buf), o->subject_buf,
                                    sizeof(o->subject_buf), &m);
    if (st != POSTIE_OK && m.failed == POSTIE_F_SUBJECT_PREFIX) {
        usage_error("--subject is too long with the session's subject_prefix", NULL);
    }
    if (st != POSTIE_OK) {
        fprintf(stderr, "postie: session %s: from_name: %s\n", sess.name, postie_status_str(st));
        return EXIT_USAGE;
    }
    o->header_from = m.from;
    o->env.from = m.envelope_from;
    o->from_name = m.from_name;
    o->subject = m.subject;
    return 0;
}

/* ---- sending ------------------------------------------------------------------- */

/* send --queue: store the message (composed for any server: 7bit with
 * encoded words, since the server's extensions are not known yet), then
 * try it, and only it, now. Exit as for send, plus 4 when it waits for a
 * retry. */
static int enqueue_and_flush(cli_send_options_t *o, cli_composition_t *c, cli_message_source_t *msg)
{
    static postie_spool_t spool;
    static postie_queue_t q;
    const char *rcpts[POSTIE_QUEUE_RCPT_MAX];
    postie_queue_message_t m;
    postie_queue_id_t id = 0;
    postie_queue_outcome_t outcome;
    postie_error_t err;
    char error[POSTIE_QUEUE_ERROR_TEXT_MAX];
    char name[POSTIE_QUEUE_ID_TEXT];
    int64_t now;
    int16_t off;
    uint32_t rnd = 0;
    postie_status_t st;
    int rc;

    if (o->session == NULL) {
        usage_error("--queue needs --session NAME: queued mail is sent through a named session",
                    NULL);
    }
    if (o->env.rcpt_count > POSTIE_QUEUE_RCPT_MAX) {
        usage_error("too many recipients for one queued message (POSTIE_QUEUE_RCPT_MAX)", NULL);
    }
    for (size_t i = 0; i < o->env.rcpt_count; i++) {
        rcpts[i] = o->env.rcpt[i].address;
    }
    memset(&m, 0, sizeof(m));
    m.session = o->session_name;
    m.from = o->env.from;
    m.rcpt = rcpts;
    m.rcpt_count = o->env.rcpt_count;
    cli_open_queue(o->spool, &spool, &q);
    postie_wall_clock(&now, &off);
    if (postie_random_bytes((uint8_t *)&rnd, sizeof(rnd)) != POSTIE_OK) {
        fprintf(stderr, "postie: no random numbers from the kernel\n");
        return EXIT_USAGE;
    }
    if (o->compose) {
        m.size = cli_compose_counted(c, o, false, false);
        m.body_8bit = postie_mime_needs_8bit(&c->writer);
        m.smtputf8 = postie_mime_needs_smtputf8(&c->writer);
        st = postie_queue_enqueue(&q, &m, postie_mime_read, &c->writer, now, rnd, &id, &err);
    } else {
        m.size = o->env.size;
        m.body_8bit = o->env.body_8bit;
        st = postie_queue_enqueue(&q, &m, cli_read_message, msg, now, rnd, &id, &err);
    }
    if (st != POSTIE_OK) {
        fprintf(stderr, "postie: the message was not queued: %s (%s)\n", postie_status_str(st),
                err.subject);
        if (o->compose) {
            cli_report_shrunk_attachments(c, o);
        }
        postie_spool_close(&spool);
        return st == POSTIE_E_QUEUE_FULL ? EXIT_TEMP : EXIT_USAGE;
    }
    postie_queue_id_format(id, name);
    cli_syslog_mail("queued", id, o->session_name, rcpts, o->env.rcpt_count, NULL, NULL);
    printf("queued %s\n", name);
    fflush(stdout);
    if (o->queue_only) {
        postie_spool_close(&spool);
        return 0;
    }
    (void)cli_run_queue(&q, POSTIE_RUN_FLUSH, o->session_name, id, &outcome, error, sizeof(error));
    postie_spool_close(&spool);
    switch (outcome.state) {
    case POSTIE_QSTATE_DONE:
        printf("delivered %s\n", name);
        rc = 0;
        break;
    case POSTIE_QSTATE_ERROR:
        fprintf(stderr, "postie: %s failed, kept in the error queue: %s\n", name, error);
        rc = EXIT_REFUSED;
        break;
    case POSTIE_QSTATE_QUEUED:
        fprintf(stderr, "postie: %s stays queued for a retry: %s\n", name, error);
        rc = EXIT_TEMP;
        break;
    default:
        fprintf(stderr, "postie: %s stays queued (another sender has it)\n", name);
        rc = EXIT_TEMP;
        break;
    }
    return rc;
}

static int run_send(cli_send_options_t *op)
{
    static cli_send_options_t o;
    static postie_smtp_client_t client;
    static postie_smtp_rcpt_t rcpt[3 * CLI_MAX_RCPT];
    static cli_composition_t c;
    postie_smtp_envelope_t *env = &o.env;
    cli_message_source_t msg;
    size_t nrcpt = 0;
    postie_status_t st;
    int rc = 0;

    o = *op;
    memset(&msg, 0, sizeof(msg));
    if (o.session != NULL && (rc = apply_session(&o)) != 0) {
        return rc;
    }

    if (o.cfg.host == NULL) {
        usage_error("--host is required", NULL);
    }
    if (env->from == NULL) {
        usage_error("--from is required (use --from '' for the null sender)", NULL);
    }
    /* envelope: To, Cc and Bcc (Bcc never reaches a header) */
    for (size_t i = 0; i < o.nto; i++) {
        rcpt[nrcpt++].address = o.to[i];
    }
    for (size_t i = 0; i < o.ncc; i++) {
        rcpt[nrcpt++].address = o.cc[i];
    }
    for (size_t i = 0; i < o.nbcc; i++) {
        rcpt[nrcpt++].address = o.bcc[i];
    }
    if (nrcpt == 0) {
        usage_error("at least one --to (or --cc, --bcc) is required", NULL);
    }
    if (o.password_env != NULL && o.password_file != NULL) {
        usage_error("give either --password-env or --password-file, not both", NULL);
    }
    if (o.password_env != NULL) {
        o.cfg.smtp.password = read_password("--password-env", POSTIE_SECRET_ENV, o.password_env);
    } else if (o.password_file != NULL) {
        o.cfg.smtp.password = read_password("--password-file", POSTIE_SECRET_FILE, o.password_file);
    }
    if (o.cfg.smtp.username != NULL && o.cfg.smtp.password == NULL && o.cfg.token == NULL) {
        usage_error("--user needs --password-env or --password-file", NULL);
    }
    if (o.cfg.smtp.username == NULL && o.cfg.smtp.password != NULL) {
        usage_error("a password was given without --user", NULL);
    }
    if (o.timeout_s > 0) {
        uint32_t ms = (uint32_t)o.timeout_s * 1000u;
        o.cfg.connect_timeout_ms = ms;
        o.cfg.smtp.timeout_greeting_ms = ms;
        o.cfg.smtp.timeout_command_ms = ms;
        o.cfg.smtp.timeout_data_init_ms = ms;
        o.cfg.smtp.timeout_data_block_ms = ms;
        o.cfg.smtp.timeout_data_end_ms = ms;
    }

    /* Check addresses before connecting: a bad one never reaches the wire. */
    {
        bool non_ascii;
        st = postie_address_check(env->from, true, &non_ascii);
        if (st != POSTIE_OK) {
            fprintf(stderr, "postie: sender address refused: %s\n", postie_status_str(st));
            return EXIT_USAGE;
        }
        for (size_t i = 0; i < nrcpt; i++) {
            st = postie_address_check(rcpt[i].address, false, &non_ascii);
            if (st != POSTIE_OK) {
                char shown[96];
                postie_text_copy_printable(shown, sizeof(shown), rcpt[i].address,
                                           strlen(rcpt[i].address));
                fprintf(stderr, "postie: recipient address \"%s\" refused: %s\n", shown,
                        postie_status_str(st));
                return EXIT_USAGE;
            }
        }
    }

    if (!o.compose) {
        cli_open_message(o.message_path != NULL ? o.message_path : "-", &msg, &env->size,
                         &env->body_8bit);
    } else {
        /* Check the message before connecting; composed again below with
         * what the server offers. */
        cli_compose(&c, &o, true, true);
        cli_compose_done(&c, &o);
    }
    env->rcpt = rcpt;
    env->rcpt_count = nrcpt;
    if (o.queue) {
        rc = enqueue_and_flush(&o, &c, &msg);
        goto out;
    }

    st = postie_smtp_client_open(&client, &o.cfg);
    if (st != POSTIE_OK) {
        rc = cli_report_session_failure(&client, st);
        postie_smtp_client_quit(&client);
        goto out;
    }
    if (o.cfg.smtp.log != NULL) {
        char caps[256];
        postie_tls_info_t tls;
        postie_smtp_caps_format(postie_smtp_caps(&client.engine), caps, sizeof(caps));
        fputs("* server ", stderr);
        cli_put_escaped_str(stderr, postie_smtp_caps(&client.engine)->server_name);
        fputs(" offers: ", stderr);
        cli_put_escaped_str(stderr, caps);
        fputc('\n', stderr);
        if (postie_smtp_client_tls_info(&client, &tls)) {
            fprintf(stderr, "* TLS %s %s, certificate ", tls.version, tls.cipher);
            cli_put_escaped_str(stderr, tls.peer_subject);
            fprintf(stderr, ", valid until %s%s\n", tls.peer_not_after,
                    tls.verify_flags != 0 ? " (NOT verified)" : "");
        }
    }

    if (o.compose) {
        const postie_smtp_caps_t *caps = postie_smtp_caps(&client.engine);
        bool allow_8bit = (caps->flags & POSTIE_SMTP_CAP_8BITMIME) != 0;
        bool allow_utf8 = (caps->flags & POSTIE_SMTP_CAP_SMTPUTF8) != 0;
        /* the exact size, so SIZE= lets the server refuse an oversized
         * message before its body is sent */
        env->size = cli_compose_counted(&c, &o, allow_8bit, allow_utf8);
        env->body_8bit = postie_mime_needs_8bit(&c.writer);
        env->smtputf8 = postie_mime_needs_smtputf8(&c.writer);
        st = postie_smtp_client_send(&client, env, postie_mime_read, &c.writer);
    } else {
        st = postie_smtp_client_send(&client, env, cli_read_message, &msg);
    }
    if (cli_syslog_enabled()) {
        const char *addrs[3 * CLI_MAX_RCPT];
        const postie_error_t *m = postie_smtp_phase(&client.engine) == POSTIE_SMTP_PHASE_FAILED
                                      ? postie_smtp_client_error(&client)
                                      : postie_smtp_message_result(&client.engine);
        char detail[256] = "";
        for (size_t i = 0; i < nrcpt; i++) {
            addrs[i] = rcpt[i].address;
        }
        if (st != POSTIE_OK) {
            snprintf(detail, sizeof(detail), "%s: %s", m->phase != NULL ? m->phase : "?",
                     postie_status_str(st));
        }
        cli_syslog_mail(st == POSTIE_OK ? "sent" : "failed", 0, o.session_name, addrs, nrcpt,
                        &m->reply, detail);
    }
    for (size_t i = 0; i < nrcpt; i++) {
        const postie_smtp_rcpt_t *r = &rcpt[i];
        if (r->state == POSTIE_RCPT_ACCEPTED) {
            continue;
        }
        fprintf(stderr, "postie: recipient %s %s", r->address,
                r->state == POSTIE_RCPT_REJECTED ? "refused: " : "not tried");
        cli_print_reply(stderr, &r->reply);
        fputc('\n', stderr);
        rc = EXIT_REFUSED;
    }
    if (st == POSTIE_OK) {
        const postie_error_t *m = postie_smtp_message_result(&client.engine);
        cli_print_reply(stdout, &m->reply);
        fputc('\n', stdout);
    } else if (postie_smtp_phase(&client.engine) == POSTIE_SMTP_PHASE_FAILED) {
        rc = cli_report_session_failure(&client, st);
        if (o.compose) {
            cli_report_shrunk_attachments(&c, &o);
        }
    } else {
        const postie_error_t *m = postie_smtp_message_result(&client.engine);
        fprintf(stderr, "postie: message refused at %s: %s", m->phase, postie_status_str(st));
        if (m->subject[0]) {
            fprintf(stderr, "; %s", m->subject);
        }
        if (m->reply.code != 0) {
            fprintf(stderr, "; server said: ");
            cli_print_reply(stderr, &m->reply);
        }
        fputc('\n', stderr);
        rc = postie_status_is_transient(st) ? EXIT_TEMP : EXIT_REFUSED;
    }
    postie_smtp_client_quit(&client);
out:
    if (o.cfg.smtp.log != NULL) {
        cli_tls_arena_report(); /* with POSTIE_TLS_ARENA: what the session needed */
    }
    if (o.compose) {
        cli_compose_done(&c, &o);
        free(o.text);
        free(o.html);
    }
    if (msg.file != NULL) {
        fclose(msg.file);
    }
    return rc;
}

int cmd_send(int argc, char **argv)
{
    static const cli_option_t *const tables[] = {
        cli_server_options,  cli_envelope_options,   cli_compose_options,
        cli_session_options, cli_queue_send_options, NULL,
    };
    static cli_send_options_t o;
    const char *name;
    char *v;
    cli_args_t args;
    int id;

    cli_send_options_init(&o);
    cli_args_init(&args, "send", send_usage, tables, argc, argv);
    while ((id = cli_args_next(&args, &v, &name)) != CLI_ARGS_END) {
        if (id == CLI_ARGS_OPERAND) {
            cli_args_unexpected(&args, v);
        }
        cli_send_option(&o, "send", id, name, v);
    }
    cli_send_options_done(&o, "send");
    cli_syslog_open("postie");
    cli_syslog_enable(o.syslog);
    return run_send(&o);
}
