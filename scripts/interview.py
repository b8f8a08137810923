#!/usr/bin/env python3
"""interview.py — collect every @interview tag into docs/INTERVIEW.md.

Chalk's source answers the backend interview questions of
shared/seed/backend-interview-questions.md at the code that embodies them.
A tag is a comment of the form

    /* @interview(tx.atomicity): What does the A in ACID mean here? A batch
     * ends with a commit record; recovery drops a batch without one. */

whose id is listed in docs/interview/topics.md. This script:

  (no flag)  regenerates docs/INTERVIEW.md from the tree;
  --check    fails (exit 1) when docs/INTERVIEW.md is stale, when a tag names
             an unknown topic, or when a tag is malformed; prints the coverage
             line `interview coverage: N/26 seed questions answered in code`;
  --strict   with --check, also fails while a seed question has no tag.

What it leaves out: it does not judge whether an answer is good; review does.
Only product code counts (include/ engine/ server/ client/ bench/): a tag in a
test proves nothing about the database.
"""
import argparse
import os
import re
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TOPICS = OUT = ""


def set_root(root):
    """Point the script at a tree (tests use a small fake one)."""
    global ROOT, TOPICS, OUT
    ROOT = os.path.abspath(root)
    TOPICS = os.path.join(ROOT, "docs", "interview", "topics.md")
    OUT = os.path.join(ROOT, "docs", "INTERVIEW.md")
SOURCE_DIRS = ["include", "engine", "server", "client", "bench"]
SOURCE_EXT = (".c", ".h", ".py", ".sh")
LEVELS = ["easy", "medium", "hard", "overview"]

# A well-formed tag: @interview(id): text. The id is dotted lower-case words.
TAG_RE = re.compile(r"@interview\(([^)]*)\)(:?)\s*(.*)")
ID_RE = re.compile(r"^[a-z0-9][a-z0-9-]*(\.[a-z0-9][a-z0-9-]*)+$")


def load_topics():
    """Parse the table of docs/interview/topics.md: id → (question, level, chapter)."""
    topics = {}
    with open(TOPICS, encoding="utf-8") as f:
        for line in f:
            cells = [c.strip() for c in line.strip().strip("|").split("|")]
            if len(cells) != 4 or not ID_RE.match(cells[0]):
                continue
            topics[cells[0]] = {"question": cells[1], "level": cells[2], "chapter": cells[3]}
    return topics


def source_files():
    for d in SOURCE_DIRS:
        for dirpath, dirnames, filenames in os.walk(os.path.join(ROOT, d)):
            dirnames[:] = sorted(n for n in dirnames if not n.startswith(("build", ".")) and n != "results")
            for name in sorted(filenames):
                if name.endswith(SOURCE_EXT):
                    yield os.path.join(dirpath, name)


def comment_text(lines, start, first):
    """The tag's text: from the tag to the end of its comment block."""
    text = [first]
    if "*/" in first:
        text[0] = first.split("*/")[0]
        return " ".join(t.strip() for t in text).strip()
    line_comment = lines[start].lstrip().startswith(("//", "#"))
    for line in lines[start + 1:start + 40]:
        s = line.strip()
        if line_comment:
            if not s.startswith(("//", "#")) or "@interview(" in s:
                break
            text.append(s.lstrip("/#").strip())
            continue
        if "@interview(" in s:
            break
        end = "*/" in s
        s = s.split("*/")[0].lstrip("*").strip()
        text.append(s)
        if end:
            break
    return " ".join(t for t in text if t).strip()


def collect(topics):
    tags, errors = [], []
    for path in source_files():
        rel = os.path.relpath(path, ROOT)
        try:
            with open(path, encoding="utf-8") as f:
                lines = f.read().split("\n")
        except UnicodeDecodeError:
            continue
        for i, line in enumerate(lines):
            if "@interview" not in line:
                continue
            m = TAG_RE.search(line)
            where = f"{rel}:{i + 1}"
            if not m:
                errors.append(f"{where}: malformed tag (want @interview(topic.id): question? answer)")
                continue
            tid, colon, rest = m.group(1).strip(), m.group(2), m.group(3)
            if not ID_RE.match(tid) or not colon:
                errors.append(f"{where}: malformed tag '@interview({tid})' (want @interview(topic.id): ...)")
                continue
            if tid not in topics:
                errors.append(f"{where}: unknown topic '{tid}' (not in docs/interview/topics.md)")
                continue
            text = comment_text(lines, i, rest)
            if len(text) < 20:
                errors.append(f"{where}: tag '{tid}' has no question and answer")
                continue
            tags.append({"id": tid, "file": rel, "line": i + 1, "text": text})
    return tags, errors


def split_question(text):
    """The question is the text up to the first '?', the answer the rest."""
    q, mark, a = text.partition("?")
    if not mark:
        return "", text
    return q.strip() + "?", a.strip()


def seed_questions(topics):
    """Seed questions (not overview areas), in table order, with their level."""
    seen = {}
    for t in topics.values():
        if t["level"] != "overview":
            seen.setdefault(t["question"], t["level"])
    return seen


def render(topics, tags):
    seeds = seed_questions(topics)
    by_topic = {}
    for t in tags:
        by_topic.setdefault(t["id"], []).append(t)
    answered = {topics[t]["question"] for t in by_topic if topics[t]["level"] != "overview"}
    covered = sum(1 for q in seeds if q in answered)
    out = [
        "# Interview index",
        "",
        "<!-- Generated by scripts/interview.py from the @interview tags in the source."
        " Do not edit: run `make docs`. -->",
        "",
        "Every backend interview question of the seed list, the topics that answer it, and the",
        "places in Chalk's source where the answer lives. Read the code at the link; the chapter",
        "in docs/ tells the story around it. Tag format and topic list: [interview/topics.md](interview/topics.md).",
        "",
        f"**Coverage: {covered}/{len(seeds)} seed questions answered in code; {len(tags)} tags.**",
        "",
    ]
    for level in LEVELS:
        qs = []
        for tid, t in topics.items():
            if t["level"] == level and t["question"] not in qs:
                qs.append(t["question"])
        if not qs:
            continue
        out += [f"## {level.capitalize()}", ""]
        for q in qs:
            mark = "" if level == "overview" else (" ✓" if q in answered else " — not yet answered in code")
            out += [f"### {q}{mark}", ""]
            for tid, t in topics.items():
                if t["question"] != q:
                    continue
                chapter = t["chapter"]
                out.append(f"- **`{tid}`** — chapter [{chapter}]({chapter})")
                for tag in by_topic.get(tid, []):
                    question, answer = split_question(tag["text"])
                    loc = f"[{tag['file']}:{tag['line']}](../{tag['file']}#L{tag['line']})"
                    if question:
                        out.append(f"  - {loc} — *{question}* {answer}")
                    else:
                        out.append(f"  - {loc} — {answer}")
            out.append("")
    return "\n".join(out).rstrip() + "\n", covered, len(seeds)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--check", action="store_true", help="fail if docs/INTERVIEW.md is stale or a tag is bad")
    ap.add_argument("--strict", action="store_true", help="with --check, fail while a seed question has no tag")
    ap.add_argument("--root", default=ROOT, help="the tree to read (default: this checkout)")
    args = ap.parse_args()
    set_root(args.root)

    topics = load_topics()
    if not topics:
        print(f"interview: no topics found in {TOPICS}", file=sys.stderr)
        return 1
    tags, errors = collect(topics)
    text, covered, total = render(topics, tags)
    for e in errors:
        print(f"interview: {e}", file=sys.stderr)
    print(f"interview coverage: {covered}/{total} seed questions answered in code")

    if not args.check:
        with open(OUT, "w", encoding="utf-8") as f:
            f.write(text)
        print(f"interview: wrote {os.path.relpath(OUT, ROOT)} ({len(tags)} tags)")
        return 1 if errors else 0

    status = 1 if errors else 0
    try:
        with open(OUT, encoding="utf-8") as f:
            current = f.read()
    except FileNotFoundError:
        current = None
    if current != text:
        print("interview: docs/INTERVIEW.md is stale: run `make docs` and commit it", file=sys.stderr)
        status = 1
    if args.strict and covered < total:
        print(f"interview: {total - covered} seed questions have no tag", file=sys.stderr)
        status = 1
    return status


if __name__ == "__main__":
    sys.exit(main())
