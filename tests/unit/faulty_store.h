/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A queue store wrapped so a test can make its calls fail: every call goes
 * to the inner store (RAM or spool) unless a switch below says otherwise.
 * One per test program (the wrapper's state is the global `faulty`).
 */
#ifndef FAULTY_STORE_H
#define FAULTY_STORE_H

#include <stdbool.h>

#include "postie/queue/queue.h"

typedef struct {
    postie_queue_store_t inner; /* the store that does the work */
    int fail_remove;            /* remove fails this many times */
    int fail_write_from;        /* write calls from this count on fail (0: never) */
    int writes;                 /* write calls so far */
    bool fail_list;             /* list fails */
} faulty_t;

extern faulty_t faulty;

/* The wrapper as a store: give it to postie_queue_init. */
postie_queue_store_t faulty_store(void);

#endif /* FAULTY_STORE_H */
