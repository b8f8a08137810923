"""chalk-check and chalk-dump on real segment bytes: a clean directory, a torn
tail made by truncating the newest segment, bit flips (in a sealed segment, in
the middle of the newest one, at every byte of a record), a bad header, a
locked directory, and the repairs.

The segments are written here byte by byte from the offset tables at the top
of engine/record.c, with the same XXH3-64 (libxxhash through ctypes): the
tests double as a check that the documented format is the one the tools
read. tests/e2e/test_tools_engine.py runs the tools on a directory the engine
itself wrote.
"""
import ctypes
import fcntl
import os
import struct
import subprocess
import tempfile

import pytest

BIN = os.environ.get("CHALK_BIN_DIR", os.path.join(os.path.dirname(__file__), "..", "..", "build", "bin"))
CHECK = os.path.join(BIN, "chalk-check")
DUMP = os.path.join(BIN, "chalk-dump")

_xxh = ctypes.CDLL("libxxhash.so.0")
_xxh.XXH3_64bits.restype = ctypes.c_uint64
_xxh.XXH3_64bits.argtypes = [ctypes.c_char_p, ctypes.c_size_t]

PUT, DELETE, COMMIT = 1, 2, 0x01


def xxh3(b):
    return _xxh.XXH3_64bits(bytes(b), len(b))


def seg_header(seg_id, version=1, flags=0):
    h = b"CHALKSEG" + struct.pack("<III", version, seg_id, flags) + b"\0" * 8
    return h + struct.pack("<I", xxh3(h) & 0xFFFFFFFF)


def record(kind, flags, seq, key, value=b"", expire=0):
    body = struct.pack("<BBHqqII", kind, flags, 0, seq, expire, len(key), len(value))
    hdr = struct.pack("<I", xxh3(body) & 0xFFFFFFFF) + body
    rec = hdr + key + value
    return rec + struct.pack("<Q", xxh3(rec))


def batch(seq, ops):
    """ops: list of (kind, key, value, expire); the last gets COMMIT."""
    out = b""
    for i, (kind, key, value, expire) in enumerate(ops):
        out += record(kind, COMMIT if i == len(ops) - 1 else 0, seq, key, value, expire)
    return out


def seg_name(d, seg_id):
    return os.path.join(d, "%010u.log" % seg_id)


@pytest.fixture
def datadir():
    with tempfile.TemporaryDirectory(prefix="chalk-tools-") as d:
        yield d


def write_store(d):
    """Two segments. Returns {segment id: [(offset, size) of each batch]}."""
    seg1 = [batch(1, [(PUT, b"user:1", b"alice", 0)]),
            batch(2, [(PUT, b"user:2", b"bob", 0), (PUT, b"bin\x00\xff\"key", b"v", 0),
                      (DELETE, b"user:1", b"", 0)]),
            batch(3, [(PUT, b"session", b"s" * 100, 1893456000000)])]
    seg2 = [batch(4, [(PUT, b"user:3", b"carol", 0)]),
            batch(5, [(PUT, b"a", b"1", 0), (PUT, b"b", b"2", 0)]),
            batch(6, [(DELETE, b"user:2", b"", 0)])]
    layout = {}
    for seg_id, batches in ((1, seg1), (2, seg2)):
        off, spans = 32, []
        for b in batches:
            spans.append((off, len(b)))
            off += len(b)
        with open(seg_name(d, seg_id), "wb") as f:
            f.write(seg_header(seg_id) + b"".join(batches))
        layout[seg_id] = spans
    return layout


def run(*args):
    p = subprocess.run(list(args), capture_output=True, text=True, timeout=60)
    return p.returncode, p.stdout + p.stderr


def flip(path, off, mask=0x10):
    with open(path, "r+b") as f:
        f.seek(off)
        b = f.read(1)
        f.seek(off)
        f.write(bytes([b[0] ^ mask]))


def test_clean_directory_checks_ok_and_dumps_every_record(datadir):
    write_store(datadir)
    rc, out = run(CHECK, datadir)
    assert rc == 0, out
    assert "0000000001.log  ok" in out and "0000000002.log  ok" in out
    assert "summary: 2 segments, 9 records, 6 batches; 0 torn tail, 0 corrupt" in out
    rc, out = run(DUMP, datadir)
    assert rc == 0, out
    lines = [l for l in out.splitlines() if not l.startswith("#")]
    assert len(lines) == 9
    assert lines[0].split()[:5] == ["0000000001.log", "32", "1", "PUT", "commit"]
    assert '"user:1" vsize=5 expire=-' in lines[0]
    assert '"bin\\x00\\xff\\"key"' in out                   # binary key escaped
    assert "DEL" in lines[3] and "commit" in lines[3]      # last of batch 2
    assert lines[1].split()[4] == "-"                      # not the commit record
    assert "expire=1893456000000(2030-01-01T00:00:00Z)" in out
    assert "# summary: 2 segments, 9 records (7 PUT, 2 DEL, 1 with expiry), 6 batches" in out


def test_dump_values_and_one_segment(datadir):
    write_store(datadir)
    rc, out = run(DUMP, "--values", "2", datadir)
    assert rc == 0, out
    assert "0000000001.log" not in out
    assert 'value="carol"' in out
    assert "# summary: 1 segment, 4 records" in out


@pytest.mark.parametrize("cut", ["mid_record", "between_batch_records", "mid_header"])
def test_torn_tail_is_reported_and_repaired(datadir, cut):
    layout = write_store(datadir)
    path = seg_name(datadir, 2)
    off, size = layout[2][1]                 # batch 5: two records
    first = len(record(PUT, 0, 5, b"a", b"1"))
    at = {"mid_record": off + size - 3, "between_batch_records": off + first,
          "mid_header": off + first + 10}[cut]
    os.truncate(path, at)
    rc, out = run(CHECK, datadir)
    assert rc == 1, out
    assert "0000000002.log  TORN TAIL" in out
    assert "last whole batch ends at offset %d" % off in out      # batch 4 survives
    rc, out = run(CHECK, "--repair", datadir)
    assert rc == 0, out
    assert "truncated 0000000002.log from %d to %d bytes" % (at, off) in out
    assert os.path.getsize(path) == off
    rc, out = run(CHECK, datadir)
    assert rc == 0, out
    rc, out = run(DUMP, datadir)
    assert rc == 0 and '"user:3"' in out and '"a"' not in out


def test_bit_flip_in_sealed_segment_is_corruption_not_repaired_without_force(datadir):
    layout = write_store(datadir)
    path = seg_name(datadir, 1)
    off, size = layout[1][1]
    flip(path, off + 40)                      # inside batch 2's first key
    before = open(path, "rb").read()
    rc, out = run(CHECK, datadir)
    assert rc == 1, out
    assert "0000000001.log  CORRUPT" in out
    assert "offset %d: record checksum mismatch" % off in out
    assert "valid records follow" in out
    rc, out = run(DUMP, datadir)
    assert rc == 1 and "!!" in out
    rc, out = run(CHECK, "--repair", datadir)
    assert rc == 1 and "not repaired" in out, out
    assert open(path, "rb").read() == before
    rc, out = run(CHECK, "--repair", "--force", datadir)
    assert rc == 0 and "truncated 0000000001.log" in out and "warning" in out, out
    assert os.path.getsize(path) == off


def test_bit_flip_mid_newest_segment_with_valid_records_after_is_not_a_torn_tail(datadir):
    layout = write_store(datadir)
    off, _ = layout[2][0]
    flip(seg_name(datadir, 2), off + 6)       # batch 4's header (its kind byte)
    rc, out = run(CHECK, datadir)
    assert rc == 1, out
    assert "0000000002.log  CORRUPT" in out and "offset %d: bad record header" % off in out
    assert "3 valid records follow" in out
    rc, out = run(CHECK, "--repair", datadir)
    assert rc == 1 and "not repaired" in out


def test_every_single_bit_flip_of_a_segment_is_detected(datadir):
    """Flip one bit at every byte of segment 2 (header and records): the
    checker must never call the directory clean."""
    write_store(datadir)
    path = seg_name(datadir, 2)
    size = os.path.getsize(path)
    for off in range(size):
        flip(path, off, 1 << (off % 8))
        rc, out = run(CHECK, datadir)
        assert rc == 1, "flip at offset %d not detected:\n%s" % (off, out)
        flip(path, off, 1 << (off % 8))
    assert run(CHECK, datadir)[0] == 0


def test_unknown_version_and_bad_header(datadir):
    write_store(datadir)
    with open(seg_name(datadir, 3), "wb") as f:
        f.write(seg_header(3, version=9))
    rc, out = run(CHECK, datadir)
    assert rc == 1 and "unknown format version" in out, out
    with open(seg_name(datadir, 3), "wb") as f:
        f.write(b"XHALKSEG" + seg_header(3)[8:] + batch(9, [(PUT, b"k", b"v", 0)]))  # bad magic
    rc, out = run(CHECK, "--repair", datadir)
    assert rc == 1 and "CORRUPT" in out and "not repaired" in out, out
    rc, out = run(CHECK, "--repair", "--force", datadir)
    assert rc == 0 and "moved" in out, out
    assert os.path.exists(seg_name(datadir, 3) + ".corrupt")
    assert run(CHECK, datadir)[0] == 0


def test_interrupted_segment_creation_is_a_torn_tail(datadir):
    write_store(datadir)
    with open(seg_name(datadir, 3), "wb") as f:
        f.write(seg_header(3)[:20])           # the crash cut its header
    rc, out = run(CHECK, datadir)
    assert rc == 1 and "0000000003.log  TORN TAIL" in out, out
    assert "0000000002.log  ok" in out        # no longer the newest
    rc, out = run(CHECK, "--repair", datadir)
    assert rc == 0 and "moved" in out, out
    assert run(CHECK, datadir)[0] == 0


def test_merged_segment_is_sealed_even_when_last(datadir):
    """Recovery's newest segment is the newest NOT written by compaction; a
    compaction output with a higher id is sealed: its damage is corruption."""
    layout = write_store(datadir)
    with open(seg_name(datadir, 3), "wb") as f:
        f.write(seg_header(3, flags=1) + batch(2, [(PUT, b"m", b"x", 0)]))
    os.truncate(seg_name(datadir, 3), os.path.getsize(seg_name(datadir, 3)) - 2)
    rc, out = run(CHECK, datadir)
    assert rc == 1 and "0000000003.log  CORRUPT" in out and "merged" in out, out
    assert "0000000002.log  ok" in out and "active" in out.split("0000000002.log")[1].split("\n")[0]
    os.truncate(seg_name(datadir, 2), layout[2][2][0] + 3)
    rc, out = run(CHECK, datadir)
    assert "0000000002.log  TORN TAIL" in out, out


def test_repair_refuses_a_locked_directory(datadir):
    layout = write_store(datadir)
    os.truncate(seg_name(datadir, 2), layout[2][2][0] + 5)
    with open(os.path.join(datadir, "LOCK"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        rc, out = run(CHECK, "--repair", datadir)
        assert rc == 2 and "in use" in out, out
    rc, out = run(CHECK, "--repair", datadir)
    assert rc == 0, out


def test_usage_errors(datadir):
    assert run(CHECK)[0] == 2
    assert run(CHECK, "--force", datadir)[0] == 2
    assert run(CHECK, "--bogus", datadir)[0] == 2
    assert run(DUMP)[0] == 2
    assert run(CHECK, os.path.join(datadir, "missing"))[0] == 2


def test_compaction_leftovers_are_named_not_judged(datadir):
    write_store(datadir)
    for name in ("0000000003.log.tmp", "COMPACTION", "0000000001.hint"):
        with open(os.path.join(datadir, name), "wb") as f:
            f.write(b"\0" * 40)
    rc, out = run(CHECK, datadir)
    assert rc == 0, out
    assert "note: 0000000003.log.tmp: output of an unfinished compaction" in out
    assert "note: COMPACTION: a committed compaction" in out
    assert "note: 1 hint file, not checked" in out


def test_torn_batch_whose_remaining_records_are_all_valid(datadir):
    """A crash can cut a batch exactly between two of its records: the
    records left are valid but the COMMIT is missing. That is a torn tail,
    not corruption, however many valid records of the batch remain."""
    layout = write_store(datadir)
    path = seg_name(datadir, 2)
    end = os.path.getsize(path)
    recs = [record(PUT, 0, 7, b"x", b"1"), record(PUT, 0, 7, b"y", b"2"),
            record(PUT, COMMIT, 7, b"z", b"3")]
    with open(path, "ab") as f:
        f.write(b"".join(recs))
    os.truncate(path, end + len(recs[0]) + len(recs[1]))   # two of three left
    rc, out = run(CHECK, datadir)
    assert rc == 1 and "0000000002.log  TORN TAIL" in out, out
    assert "valid records follow" not in out
    rc, out = run(CHECK, "--repair", datadir)
    assert rc == 0 and os.path.getsize(path) == end, out


def test_interrupted_creation_before_merged_outputs_only(datadir):
    """As recovery decides: a file no longer than a header is an
    interrupted creation only if every later segment is a compaction
    output; before an appended segment it is corruption."""
    write_store(datadir)
    with open(seg_name(datadir, 3), "wb") as f:
        f.write(seg_header(3)[:32 - 1])
    with open(seg_name(datadir, 4), "wb") as f:
        f.write(seg_header(4, flags=1) + batch(2, [(PUT, b"m", b"x", 0)]))
    rc, out = run(CHECK, datadir)
    assert rc == 1 and "0000000003.log  TORN TAIL" in out and "0000000004.log  ok" in out, out
    with open(seg_name(datadir, 4), "wb") as f:
        f.write(seg_header(4) + batch(9, [(PUT, b"m", b"x", 0)]))
    rc, out = run(CHECK, datadir)
    assert rc == 1 and "0000000003.log  CORRUPT" in out, out
    rc, out = run(CHECK, "--repair", datadir)
    assert rc == 1 and "not repaired" in out, out
