/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The commands main.c dispatches to, one per cmd_*.c file. Each takes the
 * arguments after its name (argv[0] is the first of them, not the
 * command) and returns the exit status; usage errors exit 2 at once.
 */
#ifndef POSTIE_CLI_COMMANDS_H
#define POSTIE_CLI_COMMANDS_H

int cmd_send(int argc, char **argv);            /* cmd_send.c */
int cmd_compose(int argc, char **argv);         /* cmd_compose.c */
int cmd_sessions(int argc, char **argv);        /* cmd_sessions.c */
int cmd_session(int argc, char **argv);         /* cmd_sessions.c: session show NAME */
int cmd_test_email(int argc, char **argv);      /* cmd_test_email.c */
int cmd_test_connection(int argc, char **argv); /* cmd_test_connection.c */
int cmd_queue(int argc, char **argv);           /* cmd_queue.c */
int cmd_sendmail(int argc, char **argv);        /* cmd_sendmail.c (also run as `sendmail`) */
int cmd_accounts(int argc, char **argv);        /* cmd_accounts.c */
int cmd_account(int argc, char **argv);         /* cmd_account.c: show, test, add, edit... */
int cmd_fetch(int argc, char **argv);           /* cmd_fetch.c */
int cmd_poll(int argc, char **argv);            /* cmd_poll.c */
int cmd_oauth(int argc, char **argv);           /* cmd_oauth.c: authorize, status */

#endif /* POSTIE_CLI_COMMANDS_H */
