"""The interview index generator: stale index, unknown topic and malformed tag
each fail `--check`; a good tree passes and reports its coverage.

Runs scripts/interview.py on a small fake tree in a temp dir, so the real
index is never touched.
"""
import os
import subprocess
import sys
import textwrap

SCRIPT = os.path.join(os.environ.get("CHALK_SOURCE_DIR", os.path.join(os.path.dirname(__file__), "..", "..")),
                      "scripts", "interview.py")

TOPICS = textwrap.dedent("""\
    | id | seed question | level | chapter |
    | --- | --- | --- | --- |
    | tx.atomicity | Database transactions and ACID | medium | engine.md |
    | cache.fundamentals | Caching fundamentals | easy | engine.md |
    | storage.log-structured | overview: Databases | overview | engine.md |
    """)

GOOD_C = textwrap.dedent("""\
    /* log.c */
    int x;
    /* @interview(tx.atomicity): What makes a batch atomic? Recovery drops a
     * batch whose commit record is missing, so a crash applies all or none. */
    int commit(void) { return 0; }
    """)


def make_tree(tmp, source=GOOD_C):
    os.makedirs(tmp / "docs" / "interview")
    os.makedirs(tmp / "engine")
    (tmp / "docs" / "interview" / "topics.md").write_text(TOPICS)
    (tmp / "engine" / "log.c").write_text(source)
    return tmp


def run(tmp, *args):
    p = subprocess.run([sys.executable, SCRIPT, "--root", str(tmp), *args],
                       capture_output=True, text=True, timeout=60)
    return p.returncode, p.stdout + p.stderr


def test_generate_then_check_passes_and_counts(tmp_path):
    tree = make_tree(tmp_path)
    rc, out = run(tree)
    assert rc == 0, out
    index = (tree / "docs" / "INTERVIEW.md").read_text()
    assert "engine/log.c:3" in index
    assert "What makes a batch atomic?" in index
    rc, out = run(tree, "--check")
    assert rc == 0, out
    assert "interview coverage: 1/2 seed questions answered in code" in out


def test_stale_index_fails(tmp_path):
    tree = make_tree(tmp_path)
    assert run(tree)[0] == 0
    # Move the tag down one line: the recorded file:line is now wrong.
    (tree / "engine" / "log.c").write_text("\n" + GOOD_C)
    rc, out = run(tree, "--check")
    assert rc == 1
    assert "stale" in out


def test_unknown_topic_fails(tmp_path):
    tree = make_tree(tmp_path, GOOD_C.replace("tx.atomicity", "tx.nonsense"))
    run(tree)
    rc, out = run(tree, "--check")
    assert rc == 1
    assert "unknown topic 'tx.nonsense'" in out


def test_malformed_tag_fails(tmp_path):
    tree = make_tree(tmp_path, GOOD_C.replace("@interview(tx.atomicity):", "@interview(tx.atomicity)"))
    run(tree)
    rc, out = run(tree, "--check")
    assert rc == 1
    assert "malformed" in out


def test_strict_fails_while_a_question_is_unanswered(tmp_path):
    tree = make_tree(tmp_path)
    run(tree)
    rc, out = run(tree, "--check", "--strict")
    assert rc == 1
    assert "1 seed questions have no tag" in out
