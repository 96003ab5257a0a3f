"""Every bad input becomes a DatasetError that names the file (and line/column), never a raw
traceback, and no loader ever changes the file it reads."""

from __future__ import annotations

import hashlib
import zipfile
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from core.data import (
    ColumnError,
    ColumnMapping,
    DatasetError,
    FormatError,
    RatingScale,
    ValueProblem,
    load_dataset,
    load_movielens,
    load_table,
)


def snapshot(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def expect(
    root: Path,
    load: Callable[[], object],
    error: type[DatasetError],
    *fragments: str,
    line: int | None = None,
    column: str | None = None,
) -> DatasetError:
    """Run ``load``; check the error's type, message and location, and that no file changed."""
    before = snapshot(root)
    with pytest.raises(error) as info:
        load()
    exc = info.value
    message = str(exc)
    for fragment in fragments:
        assert fragment in message, f"{fragment!r} not in {message!r}"
    if line is not None:
        assert exc.line == line and f"line {line}" in message, message
    if column is not None:
        assert exc.column == column and f"column '{column}'" in message, message
    assert snapshot(root) == before, "the input files were modified"
    return exc


# --------------------------------------------------------------------------- one writer per format
GOOD = [("1", "10", "4", "100"), ("1", "20", "3", "101"), ("2", "10", "5", "102"), ("2", "30", "2", "103")]  # fmt: skip
SCALE = RatingScale(1.0, 5.0, 1.0)


class Format:
    """Writes ratings rows in one format; knows how to load it and what the message names."""

    def __init__(self, name: str, header: str | None, delimiter: str, file: str, zipped=False):
        self.name, self.header, self.delimiter, self.file, self.zipped = (
            name, header, delimiter, file, zipped
        )  # fmt: skip

    @property
    def header_lines(self) -> int:
        return 1 if self.header else 0

    def write(self, root: Path, rows: list[tuple[str, ...]]) -> Path:
        folder = root / "data"
        folder.mkdir()
        lines = ([self.header] if self.header else []) + [self.delimiter.join(r) for r in rows]
        (folder / self.file).write_text("\n".join(lines) + "\n")
        if not self.zipped:
            return folder / self.file if self.name == "table" else folder
        archive = root / "ml.zip"
        with zipfile.ZipFile(archive, "w") as zf:
            zf.write(folder / self.file, f"ml-1m/{self.file}")
        return archive

    def load(self, path: Path):
        if self.name == "table":
            return load_table(
                path, ColumnMapping("user", "item", "rating", "timestamp", scale=SCALE)
            )
        return load_dataset(path)

    def shown(self, path: Path) -> str:
        return f"{path}!/ml-1m/{self.file}" if self.zipped else self.file


FORMATS = [
    Format("table", "user,item,rating,timestamp", ",", "ratings.csv"),
    Format("ml-csv", "userId,movieId,rating,timestamp", ",", "ratings.csv"),
    Format("ml-1m", None, "::", "ratings.dat"),
    Format("ml-100k", None, "\t", "u.data"),
    Format("ml-1m-zip", None, "::", "ratings.dat", zipped=True),
]


@pytest.fixture(params=FORMATS, ids=lambda f: f.name)
def fmt(request) -> Format:
    return request.param


def with_bad_row(row: tuple[str, ...]) -> list[tuple[str, ...]]:
    """GOOD with ``row`` as the third data row."""
    return GOOD[:2] + [row] + GOOD[2:]


@pytest.mark.parametrize("bad", ["abc", "4 stars"])
def test_non_numeric_rating(tmp_path, fmt, bad):
    path = fmt.write(tmp_path, with_bad_row(("3", "10", bad, "104")))
    expect(tmp_path, lambda: fmt.load(path), ValueProblem, fmt.shown(path), f"'{bad}' is not a number",
           line=3 + fmt.header_lines, column="rating")  # fmt: skip


@pytest.mark.parametrize("bad", ["", "NaN", "nan"])
def test_missing_or_nan_rating(tmp_path, fmt, bad):
    path = fmt.write(tmp_path, with_bad_row(("3", "10", bad, "104")))
    expect(tmp_path, lambda: fmt.load(path), ValueProblem, fmt.shown(path), "missing",
           line=3 + fmt.header_lines, column="rating")  # fmt: skip


def test_off_scale_rating(tmp_path, fmt):
    path = fmt.write(tmp_path, with_bad_row(("3", "10", "7", "104")))
    expect(tmp_path, lambda: fmt.load(path), ValueProblem, fmt.shown(path), "7 is off the scale",
           "1 such row", line=3 + fmt.header_lines, column="rating")  # fmt: skip


def test_wrong_number_of_fields(tmp_path, fmt):
    path = fmt.write(tmp_path, with_bad_row(("3", "10", "4")))
    expect(tmp_path, lambda: fmt.load(path), FormatError, fmt.shown(path), "expected 4 fields",
           "found 3", line=3 + fmt.header_lines)  # fmt: skip


@pytest.mark.parametrize("fmt", [f for f in FORMATS if f.name != "table"], ids=lambda f: f.name)
def test_non_integer_movielens_id(tmp_path, fmt):
    path = fmt.write(tmp_path, with_bad_row(("u3", "10", "4", "104")))
    expect(tmp_path, lambda: fmt.load(path), ValueProblem, fmt.shown(path),
           "user id 'u3' is not a whole number", line=3 + fmt.header_lines, column="user"
           if fmt.name != "ml-csv" else "userId")  # fmt: skip


def test_duplicates_keep_latest_with_a_note(tmp_path, fmt):
    rows = GOOD + [("1", "10", "2", "50"), ("1", "10", "5", "200"), ("2", "30", "1", "90")]
    path = fmt.write(tmp_path, rows)
    before = snapshot(tmp_path)
    ds = fmt.load(path)
    assert snapshot(tmp_path) == before
    assert ds.n_ratings == 4
    note = " ".join(ds.notes)
    assert "3 duplicate (user, item) rating(s) dropped, the latest kept" in note
    assert f"first duplicate at line {1 + fmt.header_lines}" in note
    items, ratings = ds.ratings_of(0)
    assert dict(zip(ds.item_ids[items].tolist(), ratings.tolist(), strict=True)) == {
        10: 5.0,
        20: 3.0,
    }
    items, ratings = ds.ratings_of(1)  # user 2, item 30: ts 103 (rating 2) beats ts 90
    assert dict(zip(ds.item_ids[items].tolist(), ratings.tolist(), strict=True)) == {
        10: 5.0,
        30: 2.0,
    }


# --------------------------------------------------------------------------- columns
def test_missing_column_movielens(tmp_path):
    folder = tmp_path / "ml"
    folder.mkdir()
    (folder / "ratings.csv").write_text("userId,movieId,timestamp\n1,2,3\n")
    expect(tmp_path, lambda: load_dataset(folder), ColumnError, "ratings.csv", "no column 'rating'",
           "'userId', 'movieId', 'timestamp'")  # fmt: skip


def test_misnamed_column_in_mapping(tmp_path):
    path = tmp_path / "r.csv"
    path.write_text("user,item,stars\n1,2,3\n")
    expect(tmp_path, lambda: load_table(path, ColumnMapping("user", "item", "score")), ColumnError,
           str(path), "no column 'score' for the rating", "'user', 'item', 'stars'")  # fmt: skip


def test_same_column_twice_in_mapping(tmp_path):
    path = tmp_path / "r.csv"
    path.write_text("user,item,stars\n1,2,3\n")
    expect(tmp_path, lambda: load_table(path, ColumnMapping("user", "user", "stars")), ColumnError,
           "both user and item")  # fmt: skip


def test_movies_file_without_title_column(tmp_path):
    folder = tmp_path / "ml"
    folder.mkdir()
    (folder / "ratings.csv").write_text("userId,movieId,rating\n1,2,3\n")
    (folder / "movies.csv").write_text("movieId,name,genres\n2,Heat (1995),Action\n")
    expect(tmp_path, lambda: load_dataset(folder), ColumnError, "movies.csv", "no column 'title'",
           "'movieId', 'name', 'genres'")  # fmt: skip


def test_wrong_separator_is_explained(tmp_path):
    folder = tmp_path / "ml"
    folder.mkdir()
    (folder / "ratings.csv").write_text("userId;movieId;rating;timestamp\n1;2;3;4\n")
    expect(tmp_path, lambda: load_dataset(folder), ColumnError, "ratings.csv", "no column 'userId'",
           "separated by semicolon, not comma")  # fmt: skip


def test_bad_timestamp(tmp_path):
    path = tmp_path / "r.csv"
    path.write_text("user,item,rating,time\n1,2,3,2020-01-01\n1,3,4,soon\n")
    expect(tmp_path, lambda: load_dataset(path), ValueProblem, "'soon' is neither a number nor a date",
           line=3, column="timestamp")  # fmt: skip


# --------------------------------------------------------------------------- empty / unreadable
@pytest.mark.parametrize("content", [b"", b"\n\n  \n"])
@pytest.mark.parametrize("where", ["table", "ml-csv", "ml-100k"])
def test_empty_file(tmp_path, content, where):
    if where == "table":
        path = tmp_path / "r.csv"
        path.write_bytes(content)
        target, name = path, "r.csv"
    else:
        name = "ratings.csv" if where == "ml-csv" else "u.data"
        (tmp_path / name).write_bytes(content)
        target = tmp_path
    expect(tmp_path, lambda: load_dataset(target), FormatError, name, "empty")


@pytest.mark.parametrize("where", ["table", "ml-csv"])
def test_header_only_file(tmp_path, where):
    if where == "table":
        target = tmp_path / "r.csv"
        target.write_text("user,item,rating\n")
    else:
        (tmp_path / "ratings.csv").write_text("userId,movieId,rating,timestamp\n")
        target = tmp_path
    expect(tmp_path, lambda: load_dataset(target), FormatError, "ratings.csv" if where != "table" else "r.csv",
           "no ratings (the file is empty or has only a header)")  # fmt: skip


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-le", "utf-32"])
@pytest.mark.parametrize("where", ["table", "ml-csv", "ml-1m"])
def test_utf16_file(tmp_path, encoding, where):
    text = "user,item,rating\n1,2,3\n2,2,4\n"
    if where == "table":
        target = tmp_path / "r.csv"
        target.write_bytes(text.encode(encoding))
        name = "r.csv"
    elif where == "ml-csv":
        (tmp_path / "ratings.csv").write_bytes(
            text.replace("user,item", "userId,movieId").encode(encoding)
        )
        target, name = tmp_path, "ratings.csv"
    else:
        (tmp_path / "ratings.dat").write_bytes("1::2::3::4\n".encode(encoding))
        target, name = tmp_path, "ratings.dat"
    expect(tmp_path, lambda: load_dataset(target), FormatError, name, "not readable text")


@pytest.mark.parametrize("where", ["table", "ml-csv", "ml-100k"])
def test_random_binary_file(tmp_path, where):
    data = np.random.default_rng(1).integers(0, 256, 5000, dtype=np.uint8).tobytes()
    name = {"table": "r.csv", "ml-csv": "ratings.csv", "ml-100k": "u.data"}[where]
    (tmp_path / name).write_bytes(data)
    target = tmp_path / name if where == "table" else tmp_path
    expect(tmp_path, lambda: load_dataset(target), FormatError, name, "not readable text")


def test_binary_without_nul_bytes(tmp_path):
    data = bytes(b for b in np.random.default_rng(2).integers(1, 256, 5000, dtype=np.uint8))
    path = tmp_path / "r.txt"
    path.write_bytes(data)
    expect(tmp_path, lambda: load_dataset(path), FormatError, "r.txt", "binary")


def test_latin1_text_is_read_not_rejected(tmp_path):
    path = tmp_path / "r.csv"
    path.write_bytes("user,item,rating\nJosé,Café,4\nZoë,Café,5\n".encode("latin-1"))
    ds = load_dataset(path)
    assert ds.user_ids.tolist() == ["José", "Zoë"] and ds.item_ids.tolist() == ["Café"]


def test_broken_parquet(tmp_path):
    path = tmp_path / "r.parquet"
    path.write_bytes(b"PAR1 this is not really parquet")
    expect(tmp_path, lambda: load_table(path, ColumnMapping("u", "i", "r")), FormatError,
           "r.parquet", "not a readable Parquet file")  # fmt: skip


# --------------------------------------------------------------------------- item table
def test_item_missing_from_item_table(tmp_path):
    """A rated item the item table lacks loads, kept with its ratings, and is noted."""
    folder = tmp_path / "ml"
    folder.mkdir()
    (folder / "ratings.csv").write_text("userId,movieId,rating\n1,31,3\n1,99,4\n2,98,4\n")
    (folder / "movies.csv").write_text("movieId,title,genres\n31,Heat (1995),Action\n")
    before = snapshot(tmp_path)
    ds = load_dataset(folder)
    assert snapshot(tmp_path) == before
    assert ds.item_ids.tolist() == [31, 98, 99] and ds.n_ratings == 3
    assert ds.items["title"].tolist() == ["Heat", "Item 98", "Item 99"]
    assert ("2 rated item(s) are not in the item table movies.csv: they have no title or "
            "features (e.g. 98, 99)") in ds.notes  # fmt: skip


def test_item_missing_from_movies_dat(tmp_path):
    folder = tmp_path / "ml"
    folder.mkdir()
    (folder / "ratings.dat").write_text("1::5::3::1\n2::6::4::1\n")
    (folder / "movies.dat").write_text("6::Other (1990)::Drama\n")
    ds = load_dataset(folder)
    assert ds.item_ids.tolist() == [5, 6] and ds.n_ratings == 2
    assert any(n.startswith("1 rated item(s) are not in the item table movies.dat") and "e.g. 5"
               in n for n in ds.notes)  # fmt: skip


# --------------------------------------------------------------------------- paths and layouts
def test_missing_file(tmp_path):
    missing = tmp_path / "nope.csv"
    expect(tmp_path, lambda: load_dataset(missing), FormatError, str(missing), "not found")
    expect(tmp_path, lambda: load_table(missing, ColumnMapping("u", "i", "r")), FormatError,
           str(missing), "file not found")  # fmt: skip
    expect(tmp_path, lambda: load_movielens(tmp_path / "ml-1m"), FormatError, "ml-1m", "not found")


def test_unknown_folder_layout(tmp_path):
    folder = tmp_path / "stuff"
    folder.mkdir()
    (folder / "notes.txt").write_text("hello")
    (folder / "data.csv").write_text("a,b\n1,2\n")
    expect(tmp_path, lambda: load_dataset(folder), FormatError, str(folder),
           "not a recognised MovieLens layout", "u.data", "ratings.dat", "ratings.csv",
           "it contains data.csv, notes.txt")  # fmt: skip


def test_zip_without_movielens_files(tmp_path):
    archive = tmp_path / "other.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("readme.md", "nothing here")
        zf.writestr("deep/a/b/ratings.csv", "userId,movieId,rating\n1,2,3\n")  # too deep
    expect(tmp_path, lambda: load_dataset(archive), FormatError, str(archive),
           "not a recognised MovieLens layout", "readme.md")  # fmt: skip


def test_damaged_zip(tmp_path):
    archive = tmp_path / "ml-1m.zip"
    archive.write_bytes(b"PK\x03\x04 definitely not a zip")
    expect(tmp_path, lambda: load_dataset(archive), FormatError, str(archive), "zip")


def test_several_datasets_in_one_folder(tmp_path):
    for name in ("ml-a", "ml-b"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "ratings.dat").write_text("1::1::1::1\n")
    expect(tmp_path, lambda: load_dataset(tmp_path), FormatError, "several MovieLens datasets",
           "ml-a, ml-b")  # fmt: skip


def test_unknown_builtin_and_bad_synthetic_settings():
    with pytest.raises(DatasetError, match="unknown built-in dataset 'movielens-huge'"):
        load_dataset("builtin:movielens-huge")
    with pytest.raises(DatasetError, match="unknown synthetic setting 'users'"):
        load_dataset("synthetic:users=10")
    with pytest.raises(DatasetError, match="'many' is not a valid value"):
        load_dataset("synthetic:n_users=many")
    with pytest.raises(DatasetError, match="ratings_per_user"):
        load_dataset("synthetic:ratings_per_user=50-10")


# --------------------------------------------------------------------------- beyond the first block
def test_errors_deep_in_a_large_file_name_the_exact_line(tmp_path):
    """Past the 64 KB sample and the parallel read: the re-scan still finds the exact line."""
    folder = tmp_path / "ml"
    folder.mkdir()
    n = 200_000
    lines = ["userId,movieId,rating,timestamp"] + [f"{i // 50},{i % 50},4.0,{i}" for i in range(n)]
    bad_line = 150_001
    lines[bad_line - 1] = "9999,1,4.0"  # missing a field
    (folder / "ratings.csv").write_text("\n".join(lines) + "\n")
    expect(tmp_path, lambda: load_dataset(folder), FormatError, "expected 4 fields", line=bad_line)
    lines[bad_line - 1] = "9999,1,four,1"
    (folder / "ratings.csv").write_text("\n".join(lines) + "\n")
    expect(tmp_path, lambda: load_dataset(folder), ValueProblem, "'four' is not a number",
           line=bad_line, column="rating")  # fmt: skip


@pytest.mark.parametrize("bad, error", [("1,7,abc", ValueProblem), ("1,7", FormatError)])
def test_line_numbers_count_empty_lines(tmp_path, bad, error):
    """The reader skips empty lines; the message still names the line an editor shows."""
    path = tmp_path / "r.csv"
    path.write_text(f"user,item,rating\n1,2,3\n\n\n1,3,4\r\n\r\n{bad}\n2,2,5\n")
    expect(tmp_path, lambda: load_dataset(path), error, "r.csv", line=7)
    folder = tmp_path / "ml"
    folder.mkdir()
    (folder / "ratings.dat").write_text(f"\n1::2::3::1\n\n{bad.replace(',', '::')}::1\n")
    expect(tmp_path, lambda: load_dataset(folder), error, "ratings.dat", line=4)
