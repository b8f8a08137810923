/*
 * test_repl_backlog.c — the replication backlog (server/repl_backlog.c)
 * against a model: the whole stream kept in a plain array. After every
 * append of a random length (wrapping, exactly filling, longer than the
 * backlog), the invariants hold, and for every offset the backlog claims
 * to cover, backlog_copy_from returns exactly the model's bytes from there
 * to the end; every offset outside the window is refused.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "repl_internal.h"

struct sink {
    char buf[4096];
    size_t len;
    int pieces;
};

static void collect(void *arg, const char *p, size_t len)
{
    struct sink *s = arg;
    assert_true(s->len + len <= sizeof s->buf);
    memcpy(s->buf + s->len, p, len);
    s->len += len;
    s->pieces++;
}

static void check_window(const repl_backlog *bl, const char *model, long long end)
{
    long long first = backlog_first_offset(bl);
    assert_int_equal(backlog_check_invariants(bl), 0);
    assert_int_equal(bl->end_offset, end);
    assert_true(first >= 1 && first <= end + 1);
    struct sink s;
    assert_int_equal(backlog_copy_from(bl, first - 1, collect, &s), -1);
    assert_int_equal(backlog_copy_from(bl, end + 2, collect, &s), -1);
    for (long long from = first; from <= end + 1; from++) {
        memset(&s, 0, sizeof s);
        assert_int_equal(backlog_copy_from(bl, from, collect, &s), 0);
        assert_int_equal(s.len, (size_t)(end + 1 - from));
        if (s.len)
            assert_memory_equal(s.buf, model + from - 1, s.len);
        assert_true(s.pieces <= 2);            /* at most one wrap */
    }
}

static void test_against_model(void **state)
{
    (void)state;
    enum { SIZE = 97, TOTAL = 20000 };
    char *model = malloc(TOTAL + 1000);
    repl_backlog *bl = backlog_new(SIZE);
    assert_non_null(model);
    assert_non_null(bl);
    long long end = 0;
    check_window(bl, model, 0);                /* empty: first = 1 */
    srand(7);
    while (end < TOTAL) {
        int kind = rand() % 10;
        size_t len = kind == 0 ? SIZE : kind == 1 ? SIZE + 1 + (size_t)(rand() % 300)
                                      : (size_t)(rand() % 40);
        char chunk[1000];
        for (size_t i = 0; i < len; i++)
            chunk[i] = (char)('a' + (end + (long long)i) % 26 + (rand() % 2) * 26);
        memcpy(model + end, chunk, len);
        backlog_append(bl, chunk, len);
        end += (long long)len;
        check_window(bl, model, end);
        assert_true(bl->histlen == (end < SIZE ? (size_t)end : SIZE));
    }
    backlog_free(bl);
    free(model);
}

/* A backlog created when the history is already at offset N (a follower
 * after a full sync at N) starts empty there: only N+1 can be continued. */
static void test_starts_at_an_offset(void **state)
{
    (void)state;
    repl_backlog *bl = backlog_new(64);
    bl->end_offset = 1000;
    struct sink s = {0};
    assert_int_equal(backlog_copy_from(bl, 1001, collect, &s), 0);
    assert_int_equal(s.len, 0);
    assert_int_equal(backlog_copy_from(bl, 1000, collect, &s), -1);
    backlog_append(bl, "hello", 5);
    memset(&s, 0, sizeof s);
    assert_int_equal(backlog_copy_from(bl, 1003, collect, &s), 0);
    assert_memory_equal(s.buf, "llo", 3);
    assert_int_equal(backlog_first_offset(bl), 1001);
    backlog_free(bl);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_against_model),
        cmocka_unit_test(test_starts_at_an_offset),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
