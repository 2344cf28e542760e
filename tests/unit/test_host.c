/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The host file reader behind attachments: it gives exactly the size the
 * file had when opened, however it grows (a live log), the same octets
 * again after a rewind, and an error, not a short read, when the file was
 * truncated meanwhile.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "postie/posix/host.h"

static char path[64];

static int setup(void **state)
{
    int fd;
    (void)state;
    snprintf(path, sizeof(path), "/tmp/postie-host-test.XXXXXX");
    fd = mkstemp(path);
    if (fd < 0) {
        return -1;
    }
    if (write(fd, "0123456789", 10) != 10) {
        close(fd);
        return -1;
    }
    close(fd);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    unlink(path);
    return 0;
}

static void append(const char *text)
{
    FILE *f = fopen(path, "ab");
    assert_non_null(f);
    assert_int_equal(fwrite(text, 1, strlen(text), f), strlen(text));
    fclose(f);
}

/* Everything the reader gives, in reads of at most step octets. */
static postie_status_t read_all(postie_file_reader_t *r, size_t step, char *out, size_t cap,
                                size_t *len)
{
    *len = 0;
    for (int guard = 0; guard < 1000; guard++) {
        size_t got = 0;
        postie_status_t st = postie_file_read(r, (uint8_t *)out + *len, step, &got);
        if (st != POSTIE_OK) {
            return st;
        }
        if (got == 0) {
            return POSTIE_OK;
        }
        *len += got;
        assert_true(*len <= cap);
    }
    fail_msg("the reader never ended");
    return POSTIE_E_IO;
}

static void test_growing_file_gives_its_size_at_open(void **state)
{
    postie_file_reader_t r;
    char buf[64];
    size_t len = 0;
    (void)state;

    assert_int_equal(postie_file_reader_open(&r, path), POSTIE_OK);
    assert_int_equal(r.size, 10);
    append("more lines\n");
    assert_int_equal(read_all(&r, 3, buf, sizeof(buf), &len), POSTIE_OK);
    assert_int_equal(len, 10);
    assert_memory_equal(buf, "0123456789", 10);

    /* the second pass: the same octets, though the file grew again */
    append("and more\n");
    postie_file_reader_rewind(&r);
    assert_int_equal(read_all(&r, sizeof(buf), buf, sizeof(buf), &len), POSTIE_OK);
    assert_int_equal(len, 10);
    assert_memory_equal(buf, "0123456789", 10);
    assert_false(r.shrank);
    postie_file_reader_close(&r);
}

static void test_truncated_file_is_an_error(void **state)
{
    postie_file_reader_t r;
    char buf[64];
    size_t len = 0;
    (void)state;

    assert_int_equal(postie_file_reader_open(&r, path), POSTIE_OK);
    assert_int_equal(read_all(&r, 4, buf, sizeof(buf), &len), POSTIE_OK);
    assert_int_equal(len, 10);
    assert_int_equal(truncate(path, 6), 0);
    postie_file_reader_rewind(&r);
    assert_int_equal(read_all(&r, 4, buf, sizeof(buf), &len), POSTIE_E_FILE);
    assert_true(r.shrank);
    assert_int_equal(len, 6); /* then the early end is an error, not the end */
    postie_file_reader_close(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_growing_file_gives_its_size_at_open, setup, teardown),
        cmocka_unit_test_setup_teardown(test_truncated_file_is_an_error, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
