"""Hostile and unlucky inputs (issue 11, items 10-13): each is a clear DatasetError naming the file
(and line/column where there is one) or loads with a note; none aborts, hangs or changes the file.
Every input is generated here, small."""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import os
import struct
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from core.data import DatasetError, load_dataset

REPO = Path(__file__).resolve().parent.parent


def ratings_csv(n_users: int = 6, n_items: int = 5) -> str:
    rows = [f"{u},{i},{1 + (u + i) % 5}" for u in range(1, n_users + 1) for i in range(1, n_items + 1)]
    return "user,item,rating\n" + "\n".join(rows) + "\n"


def write(path: Path, text: str | bytes) -> Path:
    path.write_bytes(text.encode() if isinstance(text, str) else text)
    return path


def movielens_zip(path: Path) -> Path:
    csv = ratings_csv().replace("user,item,rating", "userId,movieId,rating")
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as zf:
        zf.writestr("ml/ratings.csv", csv)
    return path


def patch_zip(path: Path, *, flag: int | None = None, method: int | None = None) -> Path:
    """Set the general-purpose flag / compression method of every entry (local + central)."""
    data = bytearray(path.read_bytes())
    for sig, flag_at, method_at in ((b"PK\x03\x04", 6, 8), (b"PK\x01\x02", 8, 10)):
        start = 0
        while (at := data.find(sig, start)) >= 0:
            if flag is not None:
                old = struct.unpack_from("<H", data, at + flag_at)[0]
                struct.pack_into("<H", data, at + flag_at, old | flag)
            if method is not None:
                struct.pack_into("<H", data, at + method_at, method)
            start = at + 4
    path.write_bytes(bytes(data))
    return path


def refuse(source, **kwargs) -> DatasetError:
    with pytest.raises(DatasetError) as err:
        load_dataset(source, **kwargs)
    return err.value


# --------------------------------------------------------------------------- 10. tracebacks
def test_encrypted_zip_member_is_refused(tmp_path):
    path = patch_zip(movielens_zip(tmp_path / "ml.zip"), flag=0x1)
    e = refuse(path)
    assert "encrypted" in e.problem and "ml.zip" in e.path


def test_unsupported_zip_compression_is_refused(tmp_path):
    path = patch_zip(movielens_zip(tmp_path / "ml.zip"), method=9)  # deflate64
    e = refuse(path)
    assert "compression method 9" in e.problem and "ml.zip" in e.path


def test_binary_garbage_after_64kb_names_the_line(tmp_path, capfd):
    text = ratings_csv(200, 60)  # > 64 KB of good lines
    assert len(text) > 1 << 16
    lines = text.count("\n")
    path = write(tmp_path / "r.csv", text.encode() + bytes(range(128, 256)) * 40 + b"\n")
    e = refuse(path)
    assert e.line == lines + 1 and "expected 3 fields" in e.problem
    assert "Exception ignored" not in capfd.readouterr().err


# --------------------------------------------------------------------------- 11. a crash
LOAD = "import sys; from core.data import load_dataset, DatasetError\n" \
       "try:\n    load_dataset(sys.argv[1])\nexcept DatasetError as e:\n    print(e)\n"  # fmt: skip


def test_huge_field_is_refused_without_aborting(tmp_path):
    path = write(tmp_path / "r.csv", "user,item,rating\n1,2,3\n2," + "x" * 40_000_000 + ",4\n3,4,5\n")
    for _ in range(3):  # the abort was intermittent
        done = subprocess.run([sys.executable, "-c", LOAD, str(path)], cwd=REPO, capture_output=True,
                              text=True, timeout=120)  # fmt: skip
        assert done.returncode == 0, done.stderr[-500:]
        assert "line 3" in done.stdout and "longer than" in done.stdout


# --------------------------------------------------------------------------- 12. silently wrong
def test_rating_that_overflows_float32_is_refused(tmp_path):
    e = refuse(write(tmp_path / "r.csv", ratings_csv() + "9,9,1e308\n"))
    assert (e.line, e.column) == (32, "rating") and "too large" in e.problem


@pytest.mark.parametrize(
    "values, word", [(["true", "false"], "true/false"), (["2020-01-01", "2020-01-02"], "date")]
)
def test_boolean_or_date_ratings_are_refused(tmp_path, values, word):
    rows = "".join(f"{u},{i},{values[(u + i) % 2]}\n" for u in range(3) for i in range(3))
    e = refuse(write(tmp_path / "r.csv", "user,item,rating\n" + rows))
    assert e.column == "rating" and word in e.problem and e.line is not None


def test_timestamp_out_of_range_is_refused(tmp_path, recwarn):
    text = "user,item,rating,timestamp\n1,1,3,5\n1,2,4,6\n2,1,2,1e30\n2,2,5,7\n"
    e = refuse(write(tmp_path / "r.csv", text))
    assert (e.line, e.column) == (4, "timestamp") and "out of range" in e.problem
    assert not [w for w in recwarn if issubclass(w.category, RuntimeWarning)]


def test_off_scale_outlier_is_noted_not_silently_widened(tmp_path):
    ds = load_dataset(write(tmp_path / "r.csv", ratings_csv() + "9,9,1000\n"))
    assert any("line 32" in n and "1000" in n for n in ds.summary()["notes"])
    e = refuse(tmp_path / "r.csv", scale="1:5")
    assert e.line == 32


def test_half_star_in_ml100k_is_refused(tmp_path):
    folder = tmp_path / "ml-100k"
    folder.mkdir()
    rows = [f"{u}\t{i}\t{1 + (u + i) % 5}\t881250949" for u in range(1, 5) for i in range(1, 4)]
    rows[4] = "2\t2\t4.5\t881250949"
    write(folder / "u.data", "\n".join(rows) + "\n")
    e = refuse(folder)
    assert (e.line, e.column) == (5, "rating") and e.path.endswith("u.data")


@pytest.mark.parametrize(
    "text, note",
    [
        ("user,item,rating\n1,1,4\n", "only 1 user"),
        ("user,item,rating\n1,1,4\n1,2,3\n", "only 1 user"),
        ("user,item,rating\n1,1,4\n2,1,3\n", "only 1 item"),
        ("user,item,rating\n1,1,4\n2,2,4\n1,2,4\n", "every rating is 4"),
    ],
)
def test_degenerate_datasets_are_noted(tmp_path, text, note):
    ds = load_dataset(write(tmp_path / "r.csv", text))
    assert any(note in n for n in ds.summary()["notes"])


# --------------------------------------------------------------------------- 13. messages
def test_header_only_without_newline(tmp_path):
    e = refuse(write(tmp_path / "r.csv", "user,item,rating"))
    assert "only a header" in e.problem and e.path.endswith("r.csv")


def test_gzip_csv_is_read(tmp_path):
    path = write(tmp_path / "ratings.csv.gz", gzip.compress(ratings_csv().encode()))
    ds = load_dataset(path)
    assert (ds.n_users, ds.n_items, ds.n_ratings) == (6, 5, 30) and ds.name == "ratings"


def test_damaged_gzip_is_refused(tmp_path):
    data = gzip.compress(ratings_csv(60, 40).encode())
    e = refuse(write(tmp_path / "r.csv.gz", data[: len(data) // 2]))
    assert "gzip" in e.problem


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs here")
def test_fifo_is_refused_without_waiting(tmp_path):
    fifo = tmp_path / "ratings.csv"
    os.mkfifo(fifo)
    done = subprocess.run([sys.executable, "-c", LOAD, str(fifo)], cwd=REPO, capture_output=True,
                          text=True, timeout=60)  # fmt: skip
    assert done.returncode == 0 and "pipe" in done.stdout and "not a regular file" in done.stdout


@pytest.mark.skipif(not Path("/dev/urandom").exists(), reason="no /dev/urandom")
def test_device_is_refused():
    e = refuse("/dev/urandom")
    assert "not a regular file" in e.problem


# --------------------------------------------------------------------------- never modified
def test_inputs_are_never_modified(tmp_path):
    made = [
        write(tmp_path / "ok.csv", ratings_csv()),
        write(tmp_path / "bad.csv", ratings_csv() + "x,y\n"),
        write(tmp_path / "big.csv", ratings_csv() + "9,9,1e308\n"),
        write(tmp_path / "r.csv.gz", gzip.compress(ratings_csv().encode())),
        patch_zip(movielens_zip(tmp_path / "enc.zip"), flag=0x1),
    ]
    before = {p: (hashlib.sha256(p.read_bytes()).hexdigest(), p.stat().st_mtime_ns) for p in made}
    for p in made:
        with contextlib.suppress(DatasetError):
            load_dataset(p)
    after = {p: (hashlib.sha256(p.read_bytes()).hexdigest(), p.stat().st_mtime_ns) for p in made}
    assert before == after


# --------------------------------------------------------------------------- a small corpus
GOOD = ratings_csv()
CORPUS = {
    "empty.csv": b"",
    "blank.csv": b"\n\n",
    "bom_only.csv": b"\xef\xbb\xbf",
    "unclosed_quote.csv": b'user,item,rating\n1,"abc,3\n2,b,4\n',
    "mixed.csv": b"user,item,rating\n1;2;3\n2,3,4\n",
    "nan.csv": (GOOD + "9,9,nan\n").encode(),
    "inf.csv": (GOOD + "9,9,-inf\n").encode(),
    "empty_id.csv": (GOOD + ",3,4\n").encode(),
    "utf16.csv": GOOD.encode("utf-16"),
    "nul.csv": GOOD.encode() + b"\x00\x00",
    "bad.parquet": b"PAR1garbagePAR1",
    "scalar.json": b"42",
    "arrays.jsonl": b"[1,2,3]\n[2,3,4]\n",
    "nested.jsonl": b'{"user": {"id": 1}, "item": 2, "rating": 3}\n{"user": {"id": 2}, "item": 1, "rating": 4}\n',
    "netflix_empty.txt": b"1:\n",
    "netflix_bad_date.txt": b"1:\n1,4,2005-13-45\n2,3,2005-01-01\n",
    "dup_header.csv": b"user,user,rating\n1,2,3\n",
    "extra.csv": (GOOD + "1,2,3,4,5\n").encode(),
    "far_dates.csv": b"user,item,rating,timestamp\n1,1,3,9999-12-31\n2,2,4,0001-01-01\n1,2,5,1999-12-31\n",
    "zip_named.csv": b"PK\x03\x04" + bytes(range(256)),
    "html.csv": b"<html><body>Not found</body></html>\n",
    "damaged.zip": b"PK\x03\x04garbage",
    "gz_of_binary.csv.gz": gzip.compress(bytes(range(256)) * 20),
    "notgz.csv.gz": GOOD.encode(),
}


@pytest.mark.parametrize("name", sorted(CORPUS))
def test_corpus_never_ends_in_a_traceback(tmp_path, name):
    path = write(tmp_path / name, CORPUS[name])
    try:
        ds = load_dataset(path)
    except DatasetError as exc:
        assert exc.path and name in exc.path
    else:
        assert ds.n_ratings > 0
