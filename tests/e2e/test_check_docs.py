"""The docs citation checker: every kind of broken citation, every
hand-typed line number and a chapter missing from the table of contents
fail; a clean book passes; what is not a citation (code blocks, dotted
methods, other projects' paths) is left alone.

Runs scripts/check_docs.py on a small fake tree in a temp dir, with no
system headers (--sys-include ''), so the result does not depend on the
machine.
"""
import os
import subprocess
import sys
import textwrap

SCRIPT = os.path.join(os.environ.get("CHALK_SOURCE_DIR", os.path.join(os.path.dirname(__file__), "..", "..")),
                      "scripts", "check_docs.py")

LOG_C = textwrap.dedent("""\
    /* log.c */
    static int
    recover_segment(int fd)
    {
        return helper_call(fd);
    }
    int log_append(const char *buf, size_t len);
    #define LOG_MAX(a, b) ((a) > (b) ? (a) : (b))
    struct vfs { int (*fsync_dir)(void *ctx); };
    """)

GOOD_DOC = textwrap.dedent("""\
    # Engine

    Recovery starts in `recover_segment()`, writes go through `log_append()`
    and `LOG_MAX()`, directories are synced by `fsync_dir()`; see
    `engine/log.c`, `engine/*.c`, `engine/<name>.c`, `log.c` and the
    [server chapter](server.md#life). The test is `unit_log` and the
    helper `test_helpers.py` has `wait_for()`; `log_append(buf, n)` too; run `chalk-example-rate-limit`.
    Not citations: `r.pipeline()`, `pipeline(transaction=True)`, Redis's `src/dict.c`, `~/.history`,
    [Redis](https://redis.io), `SET key value`.

    ```c
    not_a_citation(x);   /* calls with arguments in fences are examples */
    ```
    """)


def make_tree(tmp, doc=GOOD_DOC, readme="# Chalk\n\nStart with [the book](docs/README.md).\n"):
    for d in ("docs", "engine", "tests/unit", "tests/e2e"):
        os.makedirs(tmp / d)
    (tmp / "engine" / "log.c").write_text(LOG_C)
    (tmp / "tests" / "unit" / "test_log.c").write_text("int main(void) { return 0; }\n")
    os.makedirs(tmp / "client" / "examples")
    (tmp / "client" / "examples" / "rate_limit.c").write_text("int main(void) { return 0; }\n")
    (tmp / "tests" / "e2e" / "test_helpers.py").write_text("def wait_for(x):\n    return x\n")
    (tmp / "docs" / "README.md").write_text("[engine](engine.md) [server](server.md) [index](INTERVIEW.md)\n")
    (tmp / "docs" / "server.md").write_text("# Server\n")
    (tmp / "docs" / "engine.md").write_text(doc)
    (tmp / "docs" / "INTERVIEW.md").write_text("engine/log.c:3 is allowed here, and `gone()` too\n")
    (tmp / "README.md").write_text(readme)
    return tmp


def run(tmp):
    p = subprocess.run([sys.executable, SCRIPT, "--root", str(tmp), "--sys-include", ""],
                       capture_output=True, text=True, timeout=60)
    return p.returncode, p.stdout + p.stderr


def test_clean_book_passes(tmp_path):
    rc, out = run(make_tree(tmp_path))
    assert rc == 0, out
    assert "4 files checked, 0 offence(s)" in out


def test_unknown_function_fails_with_file_and_line(tmp_path):
    rc, out = run(make_tree(tmp_path, GOOD_DOC + "\nThen `recover_all()` runs.\n"))
    assert rc == 1
    assert "docs/engine.md:15: `recover_all()` cites a function" in out


def test_unknown_function_called_with_arguments_fails(tmp_path):
    rc, out = run(make_tree(tmp_path, GOOD_DOC.replace("`log_append(buf, n)`", "`log_write(buf, n)`")))
    assert rc == 1
    assert "docs/engine.md:7: `log_write()` cites a function" in out


def test_unknown_function_in_a_diagram_or_prose_fails(tmp_path):
    doc = GOOD_DOC.replace("not_a_citation(x);", "recover_segment() ──► replay_all()")
    doc += "\nThen seal_segment() runs.\n"
    rc, out = run(make_tree(tmp_path, doc))
    assert rc == 1
    assert "docs/engine.md:12: replay_all() cites a function" in out
    assert "docs/engine.md:15: seal_segment() cites a function" in out
    assert "recover_segment() cites" not in out


def test_unknown_program_fails(tmp_path):
    rc, out = run(make_tree(tmp_path, GOOD_DOC.replace("`chalk-example-rate-limit`", "`chalk-example-rate_limit`")))
    assert rc == 1
    assert "`chalk-example-rate_limit` names no program" in out


def test_a_call_is_not_a_declaration(tmp_path):
    # helper_call( appears in log.c only as a call: citing it must fail.
    rc, out = run(make_tree(tmp_path, GOOD_DOC + "`helper_call()`\n"))
    assert rc == 1
    assert "`helper_call()`" in out


def test_renamed_identifier_fails(tmp_path):
    rc, out = run(make_tree(tmp_path, GOOD_DOC.replace("`unit_log`", "`unit_logs`")))
    assert rc == 1
    assert "`unit_logs` names nothing in the code" in out


def test_missing_path_fails(tmp_path):
    rc, out = run(make_tree(tmp_path, GOOD_DOC.replace("`engine/log.c`", "`engine/wal.c`")))
    assert rc == 1
    assert "docs/engine.md:5: `engine/wal.c` cites a path that does not exist" in out


def test_glob_that_matches_nothing_fails(tmp_path):
    rc, out = run(make_tree(tmp_path, GOOD_DOC.replace("`engine/*.c`", "`engine/repl_*.c`")))
    assert rc == 1
    assert "`engine/repl_*.c`" in out


def test_missing_bare_file_name_fails(tmp_path):
    rc, out = run(make_tree(tmp_path, GOOD_DOC.replace("`log.c`", "`wal.c`")))
    assert rc == 1
    assert "`wal.c` names a file that is not in the tree" in out


def test_broken_relative_link_fails(tmp_path):
    rc, out = run(make_tree(tmp_path, readme="[the book](docs/BOOK.md)\n"))
    assert rc == 1
    assert "README.md:1: link to `docs/BOOK.md` points at nothing" in out


def test_hand_typed_line_numbers_fail_even_in_code_blocks(tmp_path):
    doc = GOOD_DOC + "\nSee engine/log.c:42 and [this](../engine/log.c#L7).\n\n```\nlog.c:9\n```\n"
    rc, out = run(make_tree(tmp_path, doc))
    assert rc == 1
    assert "docs/engine.md:15: hand-typed line number `engine/log.c:42`" in out
    assert "docs/engine.md:15: hand-typed line number `#L7`" in out
    assert "docs/engine.md:18: hand-typed line number `log.c:9`" in out


def test_line_number_in_prose_fails(tmp_path):
    rc, out = run(make_tree(tmp_path, GOOD_DOC + "\nThe check is on lines 40-52 of `engine/log.c`.\n"))
    assert rc == 1
    assert "docs/engine.md:15: hand-typed line number `lines 40-52 of `engine/log.c`" in out


def test_interview_index_is_not_checked(tmp_path):
    # INTERVIEW.md holds generated file:line references and is skipped.
    rc, out = run(make_tree(tmp_path))
    assert "INTERVIEW.md" not in out
    assert rc == 0


def test_chapter_missing_from_contents_fails(tmp_path):
    tree = make_tree(tmp_path)
    (tree / "docs" / "README.md").write_text("[engine](engine.md) [index](INTERVIEW.md)\n")  # no server.md
    (tree / "docs" / "engine.md").write_text(GOOD_DOC.replace("[server chapter](server.md#life)", "server chapter"))
    rc, out = run(tree)
    assert rc == 1
    assert "chapter docs/server.md is not linked from the table of contents" in out
