/* SPDX-License-Identifier: Apache-2.0 */
/*
 * `postie account test NAME`: placeholder until the mailbox check lands.
 */
#include <stdio.h>

#include "cli.h"
#include "cli_account.h"

int cli_account_test(const cli_account_args_t *a)
{
    fprintf(stderr, "postie: account test %s: not available yet\n", a->name);
    return EXIT_SESSION;
}
