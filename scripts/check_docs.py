#!/usr/bin/env python3
"""check_docs.py — the book's citations must resolve, and cite no line numbers.

The Chalk book (docs/*.md and the top-level README.md) cites code the way the
xv6 book does: by function name and by file path, never by a hand-typed line
number, so that a citation survives every edit that does not rename what it
names (STYLE.md, habit 15). docs/INTERVIEW.md is the one place with file:line
references, and scripts/interview.py regenerates it, so it is not checked here.

The rules, applied to every checked file:

  function   A backticked `name()` (an identifier and an empty pair of
             parentheses) is a function citation. It resolves if some file
             under include/ engine/ server/ client/ bench/ tests/ defines or
             declares it: a C declaration or definition (a type before the
             name, or the name in column 0 as in BSD-style definitions), a
             function-like #define, a function-pointer member (a vfs
             operation such as `fsync_dir()`), or a Python `def`. System calls and
             library functions (`fsync()`, `io_uring_submit()`) resolve
             against the C headers of the machine (--sys-include). A dotted
             name (`r.pipeline()`) is a method of someone else's API and is
             not checked. A backticked call with arguments whose name has an
             underscore (`fault_vfs_crash_at(n)`) is a function citation
             too; `pipeline(transaction=True)` is not (someone else's API).
             Outside backticks, and inside fenced blocks (the diagrams
             name functions on their arrows), a snake_case `name()` with
             empty parentheses is held to the same rule; nothing else in a
             fenced block is checked (examples, not citations).
  identifier A backticked lower-case snake_case word with at least one
             underscore (`chalk_write`, `repl_feed_batch`, `unit_crash`,
             `master_repl_offset`) names something of the code: it must
             occur as a word in some file under the code directories,
             scripts/ or a CMakeLists.txt, or be the ctest name of a test
             file (tests/unit/test_X.c is unit_X, tests/e2e/test_X.py is
             e2e_X). Looser than a function citation (a stale comment still
             counts as an occurrence), it still fails on a rename.
  program    A backticked `chalk-<name>` is one of Chalk's programs:
             chalk-server, chalk-cli, chalk-<tool> for engine/tools/<tool>.c,
             chalk-example-<name> for client/examples/<name>.c (with _ as -,
             as the CMake files name them).
  path       A backticked path is checked when it names a file of the tree:
             with a slash and a first component that is a top-level entry of
             the repository (`engine/log.c`, `server/repl_*.c`), it must
             exist relative to the root, where `*` and `<placeholder>` match
             any run of characters; a bare file name with a source extension
             (`recover.c`) must be the name of some file of the tree, or,
             for a header, of a system header (`lmdb.h`).
  link       A relative markdown link [text](target) must point at an
             existing file or directory (anchors after `#` are not checked).
  contents   Every chapter (docs/*.md) is linked from docs/README.md, the
             book's table of contents, so that no chapter is unreachable.
  line       No hand-typed line numbers anywhere, code blocks included:
             `file.c:123`, `#L123` and "line 123 of file.c" are offences.

Each offence is printed as `docs/x.md:LINE: what`, and the exit status is 1
if there was any. What it leaves out on purpose: anchors inside a document,
the meaning of a citation (that `recover_segment()` is the right function to
cite is for review), and URLs (no network in CI).
"""
import argparse
import fnmatch
import os
import re
import sys

CODE_DIRS = ["include", "engine", "server", "client", "bench", "tests"]
CODE_EXT = (".c", ".h", ".py")
SKIP_DIRS = {".git", "__pycache__"}
SOURCE_EXT = ("c", "h", "py", "sh", "md", "txt", "cmake", "json", "yml", "toml")
# System headers searched for library functions: the top of the include tree
# and the few subdirectories whose functions the book names.
SYS_SUBDIRS = ["", "sys", "x86_64-linux-gnu/sys", "aarch64-linux-gnu/sys", "liburing", "linux"]

KEYWORDS = {"return", "else", "case", "goto", "sizeof", "if", "while", "for",
            "switch", "do", "typedef", "defined", "alignof", "_Alignof", "_Static_assert"}
BSD_DEF_RE = re.compile(r"^([A-Za-z_]\w*)\s*\(")
TYPED_RE = re.compile(r"^\s*((?:[A-Za-z_]\w*[\s*]+)+)\**([A-Za-z_]\w*)\s*\(")
MACRO_RE = re.compile(r"^\s*#\s*define\s+([A-Za-z_]\w*)\(")
FNPTR_RE = re.compile(r"\(\s*\*\s*([A-Za-z_]\w*)\s*\)\s*\(")
PYDEF_RE = re.compile(r"^\s*(?:async\s+)?def\s+([A-Za-z_]\w*)\s*\(")

CODE_SPAN_RE = re.compile(r"(`+)(.+?)\1")
IDENT_RE = re.compile(r"^[a-z][a-z0-9]*(?:_[a-z0-9]+)+$")
WORD_RE = re.compile(r"[A-Za-z_]\w*")
PROGRAM_RE = re.compile(r"^chalk-[a-z0-9_-]+$")
FUNC_RE = re.compile(r"^([A-Za-z_]\w*)\(\)$")
BARE_RE = re.compile(r"(?<![\w.>`])([a-z][a-z0-9]*_[a-z0-9_]*)\(\)")
CALL_RE = re.compile(r"^([A-Za-z_]\w*_\w*)\([^()]+\)$")
PATH_RE = re.compile(r"^[\w.*<>/-]+$")
LINK_RE = re.compile(r"(?<!!)\[[^\]]*\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)|!\[[^\]]*\]\(([^)\s]+)\)")
LINENO_RE = re.compile(r"\b[\w./-]+\.(?:c|h|py|sh|rs|cc|cpp|go|md):\d+|#L\d+"
                       r"|\blines? \d+(?:\s*[-–]\s*\d+)? (?:of|in) `?[\w./-]+\.(?:c|h|py|sh)\b")


def declared_names(path):
    """Every function name that `path` declares or defines."""
    names = set()
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            lines = f.readlines()
    except OSError:
        return names
    python = path.endswith(".py")
    for line in lines:
        if python:
            m = PYDEF_RE.match(line)
            if m:
                names.add(m.group(1))
            continue
        names.update(FNPTR_RE.findall(line))
        m = MACRO_RE.match(line)
        if m:
            names.add(m.group(1))
            continue
        m = BSD_DEF_RE.match(line)
        if m and m.group(1) not in KEYWORDS:
            names.add(m.group(1))
            continue
        m = TYPED_RE.match(line)
        if m and m.group(1).split()[0] not in KEYWORDS and m.group(2) not in KEYWORDS:
            names.add(m.group(2))
    return names


def walk_files(root, top):
    base = os.path.join(root, top)
    for dirpath, dirnames, filenames in os.walk(base):
        dirnames[:] = [d for d in dirnames if d not in SKIP_DIRS]
        for fn in filenames:
            yield os.path.join(dirpath, fn)


class Tree:
    """What a citation may resolve against: the tree's files and functions."""

    def __init__(self, root, sys_include):
        self.root = root
        self.top = {e for e in os.listdir(root) if not e.startswith("build")}
        self.functions = set()
        for d in CODE_DIRS:
            for p in walk_files(root, d):
                if p.endswith(CODE_EXT):
                    self.functions |= declared_names(p)
        self.words = set()
        for d in CODE_DIRS + ["scripts"]:
            for p in walk_files(root, d):
                if p.endswith(CODE_EXT + (".sh", ".txt", ".cmake")):
                    with open(p, encoding="utf-8", errors="replace") as f:
                        self.words |= set(WORD_RE.findall(f.read()))
        for kind, ext in (("unit", ".c"), ("e2e", ".py"), ("e2e", ".sh")):
            d = os.path.join(root, "tests", kind)
            for fn in os.listdir(d) if os.path.isdir(d) else []:
                if fn.startswith("test_") and fn.endswith(ext):
                    self.words.add(kind + "_" + fn[len("test_"):-len(ext)])
        self.sys_include = sys_include
        self._sys = None
        self.relpaths = []
        for d in self.top:
            full = os.path.join(root, d)
            if d in SKIP_DIRS:
                continue
            if os.path.isfile(full):
                self.relpaths.append(d)
                continue
            for p in walk_files(root, d):
                self.relpaths.append(os.path.relpath(p, root))
        self.basenames = {os.path.basename(p) for p in self.relpaths}
        self.programs = {"chalk-server", "chalk-cli"}
        for d, prefix in (("engine/tools/", "chalk-"), ("client/examples/", "chalk-example-")):
            for p in self.relpaths:
                if p.startswith(d) and p.endswith(".c") and "/" not in p[len(d):]:
                    self.programs.add(prefix + p[len(d):-2].replace("_", "-"))

    def system_functions(self):
        if self._sys is None:
            self._sys = set()
            for sub in SYS_SUBDIRS if self.sys_include else []:
                d = os.path.join(self.sys_include, sub)
                if not os.path.isdir(d):
                    continue
                for fn in os.listdir(d):
                    if fn.endswith(".h"):
                        self._sys |= declared_names(os.path.join(d, fn))
        return self._sys

    def has_function(self, name):
        return name in self.functions or name in self.system_functions()

    def has_basename(self, name):
        if name in self.basenames:
            return True
        return bool(self.sys_include) and name.endswith(".h") and \
            os.path.isfile(os.path.join(self.sys_include, name))

    def has_path(self, path):
        path = path.rstrip("/")
        if os.path.exists(os.path.join(self.root, path)):
            return True
        pattern = re.sub(r"<[^>]*>", "*", path)
        if "*" not in pattern:
            return False
        return any(fnmatch.fnmatch(p, pattern) or fnmatch.fnmatch(p, pattern + "/*")
                   for p in self.relpaths)


def check_span(tree, text):
    """The offence a backticked span makes, or None."""
    m = FUNC_RE.match(text) or CALL_RE.match(text)
    if m:
        if not tree.has_function(m.group(1)):
            return f"`{m.group(1)}()` cites a function that no code defines or declares"
        return None
    if PROGRAM_RE.match(text):
        if text not in tree.programs:
            return f"`{text}` names no program that the build makes"
        return None
    if IDENT_RE.match(text):
        if text not in tree.words:
            return f"`{text}` names nothing in the code (renamed?)"
        return None
    if not PATH_RE.match(text) or text.startswith(("/", "~", ".")):
        return None
    if "/" in text:
        if text.split("/")[0] not in tree.top:
            return None
        if not tree.has_path(text):
            return f"`{text}` cites a path that does not exist"
        return None
    ext = text.rsplit(".", 1)[-1] if "." in text else ""
    if ext in SOURCE_EXT and "*" not in text and "<" not in text and not tree.has_basename(text):
        return f"`{text}` names a file that is not in the tree"
    return None


def check_link(tree, doc_dir, target):
    if re.match(r"^[a-z][a-z0-9+.-]*:", target) or target.startswith("#"):
        return None
    path = target.split("#", 1)[0]
    if not path:
        return None
    full = os.path.normpath(os.path.join(doc_dir, path))
    if not os.path.exists(full):
        return f"link to `{target}` points at nothing"
    return None


def check_file(tree, path):
    """Offences of one markdown file, as (line number, message)."""
    offences = []
    fenced = False
    doc_dir = os.path.dirname(path)
    with open(path, encoding="utf-8") as f:
        lines = f.readlines()
    for n, line in enumerate(lines, 1):
        for m in LINENO_RE.finditer(line):
            offences.append((n, f"hand-typed line number `{m.group(0)}`: cite the function instead"))
        if line.lstrip().startswith(("```", "~~~")):
            fenced = not fenced
            continue
        prose = line if fenced else CODE_SPAN_RE.sub("", line)
        for m in BARE_RE.finditer(prose):
            if not tree.has_function(m.group(1)):
                offences.append((n, f"{m.group(1)}() cites a function that no code defines or declares"))
        if fenced:
            continue
        for m in CODE_SPAN_RE.finditer(line):
            why = check_span(tree, m.group(2).strip())
            if why:
                offences.append((n, why))
        for m in LINK_RE.finditer(line):
            why = check_link(tree, doc_dir, m.group(1) or m.group(2))
            if why:
                offences.append((n, why))
    return offences


def check_contents(root):
    """Chapters that docs/README.md does not link to, as offences."""
    docs = os.path.join(root, "docs")
    toc = os.path.join(docs, "README.md")
    if not os.path.exists(toc):
        return []
    with open(toc, encoding="utf-8") as f:
        linked = {os.path.normpath(os.path.join(docs, (m.group(1) or m.group(2)).split("#")[0]))
                  for m in LINK_RE.finditer(f.read())}
    return [f"chapter docs/{fn} is not linked from the table of contents"
            for fn in sorted(os.listdir(docs))
            if fn.endswith(".md") and fn != "README.md" and os.path.join(docs, fn) not in linked]


def doc_files(root):
    docs = os.path.join(root, "docs")
    files = []
    if os.path.isdir(docs):
        files = [os.path.join(docs, f) for f in sorted(os.listdir(docs))
                 if f.endswith(".md") and f != "INTERVIEW.md"]
    readme = os.path.join(root, "README.md")
    if os.path.exists(readme):
        files.insert(0, readme)
    return files


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--root", default=os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    ap.add_argument("--sys-include", default="/usr/include",
                    help="C headers that resolve library functions ('' for none)")
    ap.add_argument("files", nargs="*", help="markdown files (default: README.md, docs/*.md)")
    args = ap.parse_args()
    root = os.path.abspath(args.root)
    tree = Tree(root, args.sys_include)
    files = [os.path.abspath(f) for f in args.files] or doc_files(root)
    total = 0
    for path in files:
        for n, why in check_file(tree, path):
            print(f"{os.path.relpath(path, root)}:{n}: {why}")
            total += 1
    if not args.files:
        for why in check_contents(root):
            print(f"docs/README.md: {why}")
            total += 1
    print(f"docs citations: {len(files)} files checked, {total} offence(s)")
    return 1 if total else 0


if __name__ == "__main__":
    sys.exit(main())
