/*
 * test_commands_table.c — the command table's structure.
 *
 * commands_init() sorts the table after filling it, so every pointer a
 * subcommand keeps to its parent must be set after the sort; process_command
 * reads a subcommand's NO_AUTH and PROTECTED flags through that pointer
 * (DEBUG's subcommands are refused from non-local clients only because their
 * parent is PROTECTED).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "commands.h"

static int check_parents(command *arr, int n, command *parent, int *subs_seen)
{
    for (int i = 0; i < n; i++) {
        if (arr[i].parent != parent)
            return -1;
        if (parent) {
            (*subs_seen)++;
            size_t plen = strlen(parent->fullname);
            /* "config|get": the parent's name, a bar, then the sub's own. */
            if (strncmp(arr[i].fullname, parent->fullname, plen) != 0 || arr[i].fullname[plen] != '|')
                return -1;
        }
        if (check_parents(arr[i].subs, arr[i].nsubs, &arr[i], subs_seen) < 0)
            return -1;
    }
    return 0;
}

static void test_every_subcommand_points_at_its_parent(void **state)
{
    (void)state;
    assert_int_equal(commands_init(), 0);
    int subs = 0;
    assert_int_equal(check_parents(server.commands, server.ncommands, NULL, &subs), 0);
    assert_true(subs > 10);                 /* CONFIG, CLIENT, DEBUG, ... have them */
    commands_free();
}

static void test_debug_subcommands_inherit_protection(void **state)
{
    (void)state;
    assert_int_equal(commands_init(), 0);
    command *debug = command_lookup("debug", 5);
    assert_non_null(debug);
    assert_true(debug->def->flags & CMD_PROTECTED);
    for (int i = 0; i < debug->nsubs; i++) {
        assert_ptr_equal(debug->subs[i].parent, debug);
        assert_true(debug->subs[i].parent->def->flags & CMD_PROTECTED);
    }
    commands_free();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_subcommand_points_at_its_parent),
        cmocka_unit_test(test_debug_subcommands_inherit_protection),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
