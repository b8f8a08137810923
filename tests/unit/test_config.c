/*
 * test_config.c — the settings table (server/config.c): defaults, memory
 * units, redis.conf syntax, errors naming the line, immutable settings,
 * client-output-buffer-limit, and CONFIG REWRITE keeping comments.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "server.h"

static void test_defaults(void **state)
{
    chalk_config cfg;
    config_init_defaults(&cfg);
    assert_int_equal(cfg.port, 6379);
    assert_string_equal(cfg.bind, "127.0.0.1 -::1");
    assert_string_equal(cfg.dir, "./data");
    assert_int_equal(cfg.appendfsync, FSYNC_EVERYSEC);
    assert_int_equal(cfg.databases, 16);
    assert_int_equal(cfg.maxclients, 10000);
    assert_true(cfg.protected_mode);
    assert_string_equal(cfg.requirepass, "");
    assert_int_equal(cfg.proto_max_bulk_len, 512LL * 1024 * 1024);
    char v[64];
    assert_int_equal(config_get(&cfg, "appendfsync", v, sizeof v), 0);
    assert_string_equal(v, "everysec");
    assert_int_equal(config_get(&cfg, "nope", v, sizeof v), -1);
    config_free(&cfg);
}

static void test_memory_units(void **state)
{
    long long v;
    assert_int_equal(config_parse_memory("1gb", &v), 0);
    assert_int_equal(v, 1024LL * 1024 * 1024);
    assert_int_equal(config_parse_memory("1g", &v), 0);
    assert_int_equal(v, 1000000000LL);
    assert_int_equal(config_parse_memory("512MB", &v), 0);
    assert_int_equal(v, 512LL * 1024 * 1024);
    assert_int_equal(config_parse_memory("42", &v), 0);
    assert_int_equal(v, 42);
    assert_int_equal(config_parse_memory("12xb", &v), -1);
    assert_int_equal(config_parse_memory("-1", &v), -1);
    assert_int_equal(config_parse_memory("99999999999999999999gb", &v), -1);
}

static void test_file_syntax(void **state)
{
    chalk_config cfg;
    char err[256];
    config_init_defaults(&cfg);
    const char *text = "# a comment\n\n  port 7000\nbind 127.0.0.1 ::1\nrequirepass \"a b\"\n"
                       "appendfsync ALWAYS\nclient-output-buffer-limit normal 1mb 512kb 10\n";
    assert_int_equal(config_load_string(&cfg, text, err, sizeof err), 0);
    assert_int_equal(cfg.port, 7000);
    assert_string_equal(cfg.bind, "127.0.0.1 ::1");
    assert_string_equal(cfg.requirepass, "a b");
    assert_int_equal(cfg.appendfsync, FSYNC_ALWAYS);
    assert_int_equal(cfg.obuf[OBUF_NORMAL][OBUF_HARD], 1024 * 1024);
    assert_int_equal(cfg.obuf[OBUF_NORMAL][OBUF_SOFT], 512 * 1024);
    assert_int_equal(cfg.obuf[OBUF_NORMAL][OBUF_SOFT_SECS], 10);
    assert_int_equal(cfg.obuf[OBUF_PUBSUB][OBUF_HARD], 32 * 1024 * 1024);   /* default kept */
    assert_int_equal(config_load_string(&cfg, "client-output-buffer-limit slave 1mb 0 0 pubsub 2mb 1mb 5\n",
                                        err, sizeof err), 0);
    assert_int_equal(cfg.obuf[OBUF_REPLICA][OBUF_HARD], 1024 * 1024);
    assert_int_equal(cfg.obuf[OBUF_PUBSUB][OBUF_SOFT_SECS], 5);
    assert_int_equal(cfg.obuf[OBUF_NORMAL][OBUF_HARD], 1024 * 1024);        /* untouched */
    assert_int_equal(config_load_string(&cfg, "client-output-buffer-limit normal 1 2 3 bogus 1 2 3\n",
                                        err, sizeof err), -1);
    assert_int_equal(cfg.obuf[OBUF_NORMAL][OBUF_HARD], 1024 * 1024);        /* all or nothing */
    assert_int_equal(config_load_string(&cfg, "port 7000\nbogus 1\n", err, sizeof err), -1);
    assert_non_null(strstr(err, "line 2"));
    assert_non_null(strstr(err, "Bad directive"));
    assert_int_equal(config_load_string(&cfg, "port 70000\n", err, sizeof err), -1);
    assert_non_null(strstr(err, "between 0 and 65535"));
    assert_int_equal(config_load_string(&cfg, "protected-mode maybe\n", err, sizeof err), -1);
    config_free(&cfg);
}

static void test_runtime_set(void **state)
{
    chalk_config cfg;
    char err[256];
    config_init_defaults(&cfg);
    assert_int_equal(config_set(&cfg, "maxclients", "50", true, err, sizeof err), 0);
    assert_int_equal(cfg.maxclients, 50);
    assert_int_equal(config_set(&cfg, "port", "7000", true, err, sizeof err), -1);
    assert_string_equal(err, "can't set immutable config");
    assert_int_equal(cfg.port, 6379);
    assert_int_equal(config_set(&cfg, "maxclients", "x", true, err, sizeof err), -1);
    assert_int_equal(cfg.maxclients, 50);
    assert_true(config_is_protected("dir"));
    assert_false(config_is_protected("maxclients"));
    config_free(&cfg);
}

static void test_rewrite_keeps_comments(void **state)
{
    char path[] = "/tmp/chalk-config-test-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    const char *text = "# my settings\nport 7001\nunknown-to-us-comment-line\n";
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
    chalk_config cfg;
    config_init_defaults(&cfg);
    char err[256];
    cfg.port = 7002;
    assert_int_equal(config_set(&cfg, "maxclients", "77", false, err, sizeof err), 0);
    assert_int_equal(config_rewrite(&cfg, path), 0);
    chalk_config back;
    config_init_defaults(&back);
    char *raw = NULL;
    FILE *fp = fopen(path, "r");
    assert_non_null(fp);
    raw = calloc(1, 4096);
    assert_true(fread(raw, 1, 4095, fp) > 0);
    fclose(fp);
    assert_non_null(strstr(raw, "# my settings\n"));
    assert_non_null(strstr(raw, "port 7002\n"));
    assert_non_null(strstr(raw, "maxclients 77\n"));
    assert_null(strstr(raw, "port 7001"));
    free(raw);
    config_free(&back);
    config_free(&cfg);
    unlink(path);
}

int main(void)
{
    server.cfg.loglevel = LL_NOTHING;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_memory_units),
        cmocka_unit_test(test_file_syntax),
        cmocka_unit_test(test_runtime_set),
        cmocka_unit_test(test_rewrite_keeps_comments),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
