"""Generic ratings tables (CSV, TSV, delimited text, Parquet) and the readers every loader shares.

The column-mapping dialog needs three things from a file it has never seen: a preview of the first
rows (:func:`preview_table`), a first guess of which column is which (:func:`guess_mapping`) and a
live list of problems with the user's choice (:func:`validate_mapping`). :func:`load_table` then
reads the mapped columns and hands them to :func:`~core.data.dataset.build_dataset`.

Reading is done with pyarrow's multi-threaded CSV reader (explicit column types where the format
is known), because the C engine of pandas is several times slower on 25M-row files. Every read
problem becomes a :class:`~core.data.errors.DatasetError` naming the file, and the line where
one can be found; files are only ever opened for reading.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
import threading
import zipfile
import zlib
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv

from .dataset import RatingScale, RatingsDataset, build_dataset
from .errors import ColumnError, DatasetError, FormatError, ValueProblem

SAMPLE_BYTES = 1 << 16
PARQUET_SUFFIXES = (".parquet", ".pq")
DELIMITER_CANDIDATES = (",", "\t", ";", "|", "::", " ")
_SUBSTITUTE = "\x1f"  # stands in for a multi-character delimiter such as '::'
_MAX_BAD_ROWS = 20
_DELIMITER_NAMES = {
    ",": "comma",
    "\t": "tab",
    ";": "semicolon",
    "|": "pipe",
    "::": "'::'",
    " ": "space",
}


def delimiter_name(delimiter: str) -> str:
    """Human name of a delimiter for messages and the dialog ('tab' rather than '\\t')."""
    return _DELIMITER_NAMES.get(delimiter, repr(delimiter))


# --------------------------------------------------------------------------- sources
@dataclass(frozen=True)
class Source:
    """A file to read, on disk or inside a zip archive, and how to name it in messages.

    Zip members are streamed from the archive (never extracted to disk), so a source can be
    opened more than once: the fast read and, on error, a precise re-scan.
    """

    shown: str
    size: int
    path: Path
    member: str | None = None

    @classmethod
    def file(cls, path: str | Path) -> Source:
        p = Path(path)
        if not p.exists():
            raise FormatError("file not found", path=p)
        if p.is_dir():
            raise FormatError("this is a folder, not a file", path=p)
        try:
            size = p.stat().st_size
        except OSError as exc:
            raise FormatError(f"cannot read the file ({exc.strerror or exc})", path=p) from exc
        return cls(str(p), size, p)

    @classmethod
    def zip_member(cls, archive: str | Path, info: zipfile.ZipInfo) -> Source:
        return cls(f"{archive}!/{info.filename}", info.file_size, Path(archive), info.filename)

    @property
    def name(self) -> str:
        return self.member.rsplit("/", 1)[-1] if self.member else self.path.name

    @property
    def suffix(self) -> str:
        return Path(self.name).suffix.lower()

    @contextmanager
    def open(self) -> Iterator[BinaryIO]:
        """A binary stream of the content; read errors become :class:`FormatError`."""
        with _read_guard(self):
            if self.member is None:
                stream: BinaryIO = open(self.path, "rb")  # noqa: SIM115 - closed below
            else:
                with zipfile.ZipFile(self.path) as archive:
                    stream = archive.open(self.member)  # stays valid after the archive closes
            try:
                yield stream
            finally:
                stream.close()

    def head(self, n: int = SAMPLE_BYTES) -> bytes:
        with self.open() as f:
            return f.read(n)

    def read_all(self) -> bytes:
        with self.open() as f:
            return f.read()


@contextmanager
def _read_guard(src: Source) -> Iterator[None]:
    try:
        yield
    except DatasetError:
        raise
    except PermissionError as exc:
        raise FormatError("permission denied: the file cannot be read", path=src.shown) from exc
    except (zipfile.BadZipFile, zlib.error, EOFError) as exc:
        raise FormatError(f"the zip archive is damaged ({exc})", path=src.shown) from exc
    except OSError as exc:
        raise FormatError(f"cannot read the file ({exc})", path=src.shown) from exc


# --------------------------------------------------------------------------- text sniffing
def decode_sample(src: Source, encoding: str | None = None) -> tuple[str, str]:
    """Decode the start of a text file, returning (text, encoding).

    ``encoding=None`` means UTF-8, falling back to Latin-1 (which decodes any byte, so binary data
    must be rejected first: NUL bytes mean UTF-16/32 text or a binary file, neither of which the
    CSV readers can parse). The text is cut at the last complete line when the file is longer.
    """
    raw = src.head(SAMPLE_BYTES)
    if not raw.strip():
        raise FormatError("the file is empty", path=src.shown)
    if raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)) or b"\x00" in raw:
        raise FormatError(
            "the file is not readable text: it contains NUL bytes (UTF-16/UTF-32 text or a "
            "binary file)",
            path=src.shown,
            hint="save it as UTF-8 delimited text",
        )
    if raw.startswith(codecs.BOM_UTF8):
        raw = raw[len(codecs.BOM_UTF8) :]
    candidates = [encoding] if encoding else ["utf-8", "latin-1"]
    text = None
    for enc in candidates:
        try:
            text = codecs.getincrementaldecoder(enc)().decode(raw, final=len(raw) < SAMPLE_BYTES)
        except (UnicodeDecodeError, LookupError) as exc:
            if enc == candidates[-1]:
                raise FormatError(
                    f"the file is not valid {enc} text ({exc})", path=src.shown
                ) from exc
            continue
        encoding = enc
        break
    assert text is not None and encoding is not None
    control = sum(1 for ch in text if ord(ch) < 32 and ch not in "\t\r\n")
    if control > max(2, len(text) // 200):
        raise FormatError(
            "the file is not readable text (it looks like binary data)",
            path=src.shown,
            hint="choose a CSV, TSV, text or Parquet file",
        )
    if len(raw) >= SAMPLE_BYTES and src.size > SAMPLE_BYTES:
        cut = text.rfind("\n")
        if cut < 0:
            raise FormatError(
                "the first line is longer than 64 KB: not a ratings table", path=src.shown
            )
        text = text[: cut + 1]
    return text, encoding


def _lines(text: str, limit: int = 50) -> list[str]:
    out = []
    for line in text.splitlines():
        if line.strip():
            out.append(line)
            if len(out) >= limit:
                break
    return out


def split_line(line: str, delimiter: str) -> list[str]:
    """Fields of one line (quotes respected for single-character delimiters)."""
    if len(delimiter) > 1:
        return [f.strip() for f in line.split(delimiter)]
    return [f.strip() for f in next(csv.reader([line], delimiter=delimiter), [])]


def sniff_delimiter(text: str, suffix: str = "") -> str:
    """The delimiter that splits the sample's lines into the same number (>1) of fields.

    The extension wins when it is consistent with the content (.csv -> comma, .tsv -> tab).
    """
    lines = _lines(text, 30)
    preferred = {".csv": ",", ".tsv": "\t", ".tab": "\t"}.get(suffix)
    order = ([preferred] if preferred else []) + [d for d in DELIMITER_CANDIDATES if d != preferred]
    best, best_score = None, 0
    for delim in order:
        if delim == " " and any("\t" in ln for ln in lines):
            continue
        counts = [len(split_line(ln, delim)) for ln in lines]
        if not counts or min(counts) < 2:
            continue
        consistent = sum(c == counts[0] for c in counts) / len(counts)
        if consistent >= 0.9 and (delim == preferred or consistent * counts[0] > best_score):
            if delim == preferred:
                return delim
            best, best_score = delim, consistent * counts[0]
    return best if best is not None else (preferred or ",")


def _is_number(value: str) -> bool:
    try:
        float(value)
    except ValueError:
        return False
    return True


def sniff_header(text: str, delimiter: str) -> bool:
    """Whether the first line names the columns: it is recognised, or it is text over numbers."""
    lines = _lines(text, 30)
    if not lines:
        return True
    first = split_line(lines[0], delimiter)
    if guess_mapping(first) is not None:
        return True
    rest = [split_line(ln, delimiter) for ln in lines[1:]]
    if any(_is_number(v) for v in first if v):
        return False
    for col in range(len(first)):
        values = [r[col] for r in rest if col < len(r) and r[col]]
        if values and sum(_is_number(v) for v in values) >= 0.8 * len(values):
            return True
    return not rest


def header_names(text: str, delimiter: str, has_header: bool) -> list[str]:
    """Column names: the header's, or ``col1``, ``col2``, ... for a file without a header."""
    lines = _lines(text, 1)
    if not lines:
        return []
    fields = split_line(lines[0], delimiter)
    if has_header:
        return [f or f"col{i + 1}" for i, f in enumerate(fields)]
    return [f"col{i + 1}" for i in range(len(fields))]


def _separator_hint(columns: Sequence[str], delimiter: str) -> str | None:
    if len(columns) != 1:
        return None
    for delim in DELIMITER_CANDIDATES:
        if delim != delimiter and delim in columns[0]:
            return f"the file seems to be separated by {delimiter_name(delim)}, not {delimiter_name(delimiter)}"
    return None


def column_error(
    src_shown: str, missing: str, role: str, columns: Sequence[str], delimiter: str | None = None
) -> ColumnError:
    """'No column X' naming the columns the file actually has (and a separator hint)."""
    shown = ", ".join(f"'{c}'" for c in columns) if columns else "none"
    hint = _separator_hint(columns, delimiter) if delimiter else None
    return ColumnError(
        f"no column '{missing}' for the {role}; the file has columns {shown}",
        path=src_shown,
        hint=hint,
    )


# --------------------------------------------------------------------------- fast reading
@dataclass
class ReadSpec:
    """How to read one delimited file: what the pyarrow reader needs, plus message context."""

    delimiter: str
    has_header: bool
    columns: list[str]  # all column names in file order (header or generated)
    include: list[str]  # the columns to keep
    types: dict[str, pa.DataType] = field(default_factory=dict)  # explicit types (else inferred)
    encoding: str = "utf-8"
    quoting: bool = True

    @property
    def header_lines(self) -> int:
        return 1 if self.has_header else 0


class _ConversionFailed(Exception):
    """pyarrow could not convert a value to the requested/inferred type (re-read as text)."""


@contextmanager
def _arrow_stream(src: Source, spec: ReadSpec) -> Iterator[BinaryIO]:
    """The bytes pyarrow reads: the file itself, or an in-memory copy with '::' -> one char."""
    if len(spec.delimiter) == 1:
        with src.open() as f:
            yield f
        return
    data = src.read_all().replace(spec.delimiter.encode(spec.encoding), _SUBSTITUTE.encode())
    yield io.BytesIO(data)


def _arrow_options(spec: ReadSpec, types: dict[str, pa.DataType], handler, threads: bool):
    delim = spec.delimiter if len(spec.delimiter) == 1 else _SUBSTITUTE
    read = pacsv.ReadOptions(
        use_threads=threads,
        block_size=1 << 24,
        # Our own (stripped) names, the header skipped: 'user, item' names a column 'item'.
        column_names=spec.columns,
        skip_rows=spec.header_lines,
        encoding="utf8" if _is_utf8(spec.encoding) else spec.encoding,
    )
    parse = pacsv.ParseOptions(
        delimiter=delim,
        quote_char='"' if spec.quoting else False,
        invalid_row_handler=handler,
    )
    convert = pacsv.ConvertOptions(include_columns=spec.include, column_types=types)
    return read, parse, convert


def _invalid_row_error(
    src: Source, spec: ReadSpec, number: int | None, text: str, expected: int, actual: int
) -> FormatError:
    text = text.replace(_SUBSTITUTE, spec.delimiter)
    shown = text if len(text) <= 80 else text[:77] + "..."
    return FormatError(
        f"expected {expected} fields separated by {delimiter_name(spec.delimiter)} but found "
        f"{actual}: '{shown}'",
        path=src.shown,
        line=number,
        hint="check the separator and quoting of this line",
    )


def _locate_bad_row(src: Source, spec: ReadSpec, types: dict[str, pa.DataType]) -> FormatError:
    """Re-scan single-threaded, where pyarrow knows line numbers, and describe the first bad row."""
    found: list[tuple[int | None, str, int, int]] = []

    def handler(row) -> str:
        found.append((row.number, row.text, row.expected_columns, row.actual_columns))
        return "error"

    try:
        with _arrow_stream(src, spec) as stream:
            pacsv.read_csv(stream, *_arrow_options(spec, types, handler, threads=False))
    except pa.ArrowInvalid:
        pass  # the handler's record is what we want; the exception only stops the scan
    if not found:
        return FormatError("cannot parse the file (malformed line)", path=src.shown)
    number, text, expected, actual = found[0]
    return _invalid_row_error(src, spec, number, text, expected, actual)


def read_table_arrow(src: Source, spec: ReadSpec) -> pa.Table:
    """Read the included columns; raise :class:`FormatError` for malformed lines.

    A value that does not convert to its column's type raises the internal ``_ConversionFailed``
    so the caller can re-read as text and name the exact value and line.
    """
    bad: list[tuple[int | None, str, int, int]] = []
    lock = threading.Lock()

    def handler(row) -> str:
        with lock:
            bad.append((row.number, row.text, row.expected_columns, row.actual_columns))
            return "skip" if len(bad) < _MAX_BAD_ROWS else "error"

    try:
        with _read_guard(src), _arrow_stream(src, spec) as stream:
            table = pacsv.read_csv(stream, *_arrow_options(spec, spec.types, handler, threads=True))
    except pa.ArrowInvalid as exc:
        if bad:
            raise _locate_bad_row(src, spec, spec.types) from exc
        message = str(exc)
        if "conversion error" in message or "UTF8" in message or "utf8" in message:
            raise _ConversionFailed(message) from exc
        if "Empty CSV file" in message:
            raise FormatError("the file is empty", path=src.shown) from exc
        raise FormatError(f"cannot parse the file ({message})", path=src.shown) from exc
    if bad:
        raise _locate_bad_row(src, spec, spec.types)
    return table


def _has_empty_lines(src: Source) -> bool:
    """Whether any line is empty (C-speed scan; only run when an error is being reported)."""
    tail = b"\n"  # the start of the file behaves like the end of a line
    with src.open() as f:
        while chunk := f.read(1 << 24):
            data = tail + chunk
            if b"\n\n" in data or b"\n\r\n" in data:
                return True
            tail = data[-2:]
    return False


def physical_line(src: Source, line: int) -> int:
    """The file line number of the ``line``-th non-empty line.

    The CSV reader skips empty lines, so row positions (and pyarrow's own row numbers) count
    only non-empty lines; a message must name the line the user sees in an editor.
    """
    if not _has_empty_lines(src):
        return line
    seen = 0
    with src.open() as f:
        for number, raw in enumerate(f, start=1):
            if raw.strip(b"\r\n"):
                seen += 1
                if seen == line:
                    return number
    return line


@contextmanager
def file_lines(src: Source) -> Iterator[None]:
    """Re-raise a :class:`DatasetError` about ``src`` with its line counted as in the file."""
    try:
        yield
    except DatasetError as exc:
        if exc.line is None or exc.path != src.shown:
            raise
        line = physical_line(src, exc.line)
        if line == exc.line:
            raise
        raise type(exc)(
            exc.problem, path=exc.path, line=line, column=exc.column, hint=exc.hint
        ) from exc


def _is_utf8(encoding: str) -> bool:
    return encoding.lower().replace("-", "").replace("_", "") == "utf8"


def read_frame(src: Source, spec: ReadSpec, labels: dict[str, str] | None = None) -> pd.DataFrame:
    """Read ``spec.include`` into a DataFrame, typed where ``spec.types`` says so.

    When pyarrow's typed read fails on a value, the columns are re-read as text and the first
    value that is not a number (or not a whole number, or out of range, for integer columns) is
    reported with its line and column (``labels`` gives the column's meaning, e.g. 'user id').
    Values that are merely missing become NaN, for :func:`build_dataset` to report.
    """
    try:
        table = read_table_arrow(src, spec)
    except _ConversionFailed as exc:
        failure = str(exc)
    else:
        return table.to_pandas(split_blocks=True, self_destruct=True)
    if "utf8" in failure.lower():
        if _is_utf8(spec.encoding):  # not UTF-8 after all (e.g. a Windows export): Latin-1 reads
            return read_frame(src, replace(spec, encoding="latin-1"), labels)
        raise FormatError(f"the file is not valid {spec.encoding} text ({failure})", path=src.shown)
    text_spec = replace(spec, types={c: pa.string() for c in spec.include})
    try:
        frame = read_table_arrow(src, text_spec).to_pandas()
    except _ConversionFailed as exc:
        raise FormatError(f"cannot read the file as text ({exc})", path=src.shown) from exc
    return _check_numbers(frame, src, spec, labels or {}, failure)


def _check_numbers(
    frame: pd.DataFrame, src: Source, spec: ReadSpec, labels: dict[str, str], failure: str
) -> pd.DataFrame:
    first: tuple[int, str, str] | None = None
    for column, dtype in spec.types.items():
        integer = pa.types.is_integer(dtype)
        if column not in frame.columns or not (integer or pa.types.is_floating(dtype)):
            continue
        text = pd.Series(frame[column].to_numpy(dtype=object, na_value=None), dtype=object)
        text = text.map(lambda v: v.strip() if isinstance(v, str) else v)
        present = text.notna() & (text != "")
        values = pd.to_numeric(text.where(present, None), errors="coerce").astype(np.float64)
        bad = present & values.isna()
        what = "a number"
        if integer:
            info = np.iinfo(dtype.to_pandas_dtype())
            bad |= (
                present
                & values.notna()
                & ((values % 1 != 0) | (values < info.min) | (values > info.max))
            )
            what = f"a whole number in {info.min}..{info.max}"
        n_bad = int(bad.sum())
        if n_bad:
            row = int(np.flatnonzero(bad.to_numpy())[0])
            label = labels.get(column, column)
            if first is None or row < first[0]:
                first = (
                    row,
                    column,
                    f"{label} '{text.iloc[row]}' is not {what}; {n_bad} such row(s)",
                )
        frame[column] = values
    if first is not None:
        row, column, problem = first
        raise ValueProblem(problem, path=src.shown, line=row + spec.header_lines + 1, column=column)
    raise FormatError(f"cannot read the file ({failure})", path=src.shown)


# --------------------------------------------------------------------------- opened tables
@dataclass
class TableFile:
    """A ratings/item file opened for reading: its format, columns and (for text) read spec."""

    src: Source
    columns: list[str]
    parquet: bool
    spec: ReadSpec | None = None
    sample: str = ""

    @property
    def header_lines(self) -> int:
        return self.spec.header_lines if self.spec is not None else 0

    def read(self, columns: Sequence[str], labels: dict[str, str] | None = None) -> pd.DataFrame:
        """The named columns (types inferred), as a DataFrame in file order."""
        unique = list(dict.fromkeys(columns))
        if self.parquet:
            return _read_parquet(self.src, unique)
        assert self.spec is not None
        spec = replace(self.spec, include=unique)
        return read_frame(self.src, spec, labels)


def open_table(
    path: str | Path | Source,
    *,
    delimiter: str | None = None,
    has_header: bool | None = None,
    encoding: str | None = None,
) -> TableFile:
    """Open a table file: detect Parquet, else sniff encoding, delimiter and header."""
    src = path if isinstance(path, Source) else Source.file(path)
    if src.size == 0:
        raise FormatError("the file is empty", path=src.shown)
    head = src.head(4)
    if src.suffix in PARQUET_SUFFIXES or head == b"PAR1":
        return TableFile(src, _parquet_columns(src), parquet=True)
    text, enc = decode_sample(src, encoding)
    delim = delimiter or sniff_delimiter(text, src.suffix)
    header = sniff_header(text, delim) if has_header is None else has_header
    columns = header_names(text, delim, header)
    if not columns:
        raise FormatError("the file is empty", path=src.shown)
    seen: set[str] = set()
    for name in columns:
        if name in seen:
            raise ColumnError(
                f"column '{name}' appears twice in the header", path=src.shown, line=1
            )
        seen.add(name)
    spec = ReadSpec(delim, header, columns, include=list(columns), encoding=enc)
    return TableFile(src, columns, parquet=False, spec=spec, sample=text)


def _parquet_columns(src: Source) -> list[str]:
    import pyarrow.parquet as pq

    if src.member is not None:
        raise FormatError("Parquet files inside zip archives are not supported", path=src.shown)
    try:
        return list(pq.ParquetFile(src.path).schema_arrow.names)
    except (pa.ArrowException, OSError) as exc:
        raise FormatError(f"not a readable Parquet file ({exc})", path=src.shown) from exc


def _read_parquet(src: Source, columns: list[str], n_rows: int | None = None) -> pd.DataFrame:
    import pyarrow.parquet as pq

    try:
        pf = pq.ParquetFile(src.path)
        if n_rows is not None:
            batch = next(pf.iter_batches(batch_size=n_rows, columns=columns or None), None)
            table = (
                pa.Table.from_batches([batch])
                if batch is not None
                else pf.schema_arrow.empty_table()
            )
        else:
            table = pf.read(columns=columns)
    except (pa.ArrowException, OSError) as exc:
        raise FormatError(f"not a readable Parquet file ({exc})", path=src.shown) from exc
    return table.to_pandas()


# --------------------------------------------------------------------------- column mappings
@dataclass
class ItemTableMapping:
    """Where an item table is and which of its columns hold the id, title, genres and year."""

    path: str
    item_id: str
    title: str | None = None
    genres: str | None = None
    year: str | None = None
    genre_separator: str = "|"
    delimiter: str | None = None  # None = sniffed
    has_header: bool | None = None  # None = sniffed

    def roles(self) -> dict[str, str]:
        out = {"item id": self.item_id}
        out.update(
            {
                k: v
                for k, v in (("title", self.title), ("genres", self.genres), ("year", self.year))
                if v
            }
        )
        return out


@dataclass
class ColumnMapping:
    """Which columns of a ratings file hold the user, item, rating (and timestamp).

    ``scale=None`` infers the scale from the ratings; ``delimiter`` / ``has_header`` ``None``
    sniff them. A file without a header names its columns ``col1``, ``col2``, ...
    """

    user: str
    item: str
    rating: str
    timestamp: str | None = None
    scale: RatingScale | None = None
    delimiter: str | None = None
    has_header: bool | None = None
    item_table: ItemTableMapping | None = None

    def roles(self) -> dict[str, str]:
        """role -> column ('user', 'item', 'rating', and 'timestamp' when mapped)."""
        out = {"user": self.user, "item": self.item, "rating": self.rating}
        if self.timestamp:
            out["timestamp"] = self.timestamp
        return out

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able form (for run configs and the app's settings)."""
        out = asdict(self)
        out["scale"] = self.scale.to_dict() if self.scale else None
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ColumnMapping:
        data = dict(data)
        if data.get("scale"):
            data["scale"] = RatingScale(**data["scale"])
        if data.get("item_table"):
            data["item_table"] = ItemTableMapping(**data["item_table"])
        return cls(**data)


def _norm(name: str) -> str:
    return re.sub(r"[^a-z0-9]", "", str(name).lower())


_ALIASES: dict[str, tuple[str, ...]] = {
    "user": ("userid", "user", "uid", "users", "reviewerid", "customerid", "readerid", "visitorid"),
    "item": (
        "movieid",
        "itemid",
        "item",
        "iid",
        "asin",
        "productid",
        "movie",
        "bookid",
        "isbn",
        "trackid",
        "songid",
        "product",
        "itemname",
    ),
    "rating": ("rating", "score", "stars", "rate", "overall", "ratingvalue", "star"),
    "timestamp": ("timestamp", "time", "ts", "date", "datetime", "unixreviewtime", "ratingtime"),
}


def guess_mapping(columns: Sequence[str]) -> ColumnMapping | None:
    """Recognise the usual column names (userId/user_id/uid, movieId/item_id/asin, rating/score,
    timestamp/time/date); ``None`` when user, item and rating are not all found."""
    taken: set[str] = set()
    found: dict[str, str] = {}
    normalised = [(_norm(c), str(c)) for c in columns]
    for role, aliases in _ALIASES.items():
        for alias in aliases:  # alias order is preference order
            match = next((c for n, c in normalised if n == alias and c not in taken), None)
            if match is not None:
                found[role] = match
                taken.add(match)
                break
    if not all(r in found for r in ("user", "item", "rating")):
        return None
    return ColumnMapping(found["user"], found["item"], found["rating"], found.get("timestamp"))


# --------------------------------------------------------------------------- preview / validate
def preview_table(
    path: str | Path, n: int = 20, *, delimiter: str | None = None, has_header: bool | None = None
) -> pd.DataFrame:
    """The first ``n`` rows as text, for the column-mapping dialog.

    ``attrs`` carries what was detected: ``delimiter``, ``has_header``, ``encoding``, ``format``.
    """
    table = open_table(path, delimiter=delimiter, has_header=has_header)
    if table.parquet:
        frame = _read_parquet(table.src, [], n_rows=n).astype("string")
        frame.attrs.update(delimiter=None, has_header=True, encoding=None, format="parquet")
        return frame
    spec = table.spec
    assert spec is not None
    rows = [
        split_line(line, spec.delimiter) for line in _lines(table.sample, n + spec.header_lines)
    ]
    rows = rows[spec.header_lines :][:n]
    width = len(table.columns)
    rows = [(r + [""] * width)[:width] for r in rows]
    frame = pd.DataFrame(rows, columns=table.columns, dtype="string")
    frame.attrs.update(
        delimiter=spec.delimiter, has_header=spec.has_header, encoding=spec.encoding, format="text"
    )
    return frame


def _column_problems(columns: list[str], roles: dict[str, str], what: str) -> list[str]:
    problems = []
    shown = ", ".join(f"'{c}'" for c in columns)
    for role, col in roles.items():
        if not col:
            problems.append(f"choose the {role} column")
        elif col not in columns:
            problems.append(f"{what}: no column '{col}' for the {role}; the file has {shown}")
    by_column: dict[str, list[str]] = {}
    for role, col in roles.items():
        if col:
            by_column.setdefault(col, []).append(role)
    for col, rs in by_column.items():
        if len(rs) > 1:
            problems.append(f"column '{col}' is chosen for both {' and '.join(rs)}")
    return problems


def validate_mapping(path: str | Path, mapping: ColumnMapping) -> list[str]:
    """Problems with a mapping, as sentences for the dialog; empty when it can be loaded.

    Values are checked on the first rows only (the full check happens when loading).
    """
    try:
        table = open_table(path, delimiter=mapping.delimiter, has_header=mapping.has_header)
        preview = preview_table(
            path, 200, delimiter=mapping.delimiter, has_header=mapping.has_header
        )
    except DatasetError as exc:
        return [exc.message]
    roles = mapping.roles()
    problems = _column_problems(table.columns, roles, Path(path).name)
    if problems:
        return problems
    first_line = table.header_lines + 1
    rating = preview[mapping.rating].str.strip()
    values = pd.to_numeric(rating, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
    for i, (raw, value) in enumerate(zip(rating, values, strict=True)):
        if np.isnan(value):
            what = "is missing" if pd.isna(raw) or raw == "" else f"'{raw}' is not a number"
            problems.append(f"line {first_line + i}: rating {what} (column '{mapping.rating}')")
            break
    if mapping.scale is not None:
        scale = mapping.scale
        off = (values < scale.min - 1e-9) | (values > scale.max + 1e-9)
        if off.any():
            i = int(np.flatnonzero(off)[0])
            problems.append(
                f"line {first_line + i}: rating {values[i]:g} is outside the scale "
                f"{scale.min:g}..{scale.max:g}"
            )
    for role in ("user", "item"):
        ids = preview[roles[role]]
        if (ids.isna() | (ids.str.strip() == "")).any():
            i = int(np.flatnonzero((ids.isna() | (ids.str.strip() == "")).to_numpy())[0])
            problems.append(
                f"line {first_line + i}: the {role} id is missing (column '{roles[role]}')"
            )
    if mapping.timestamp:
        try:
            _timestamps(preview[mapping.timestamp], table.src.shown, table.header_lines)
        except DatasetError as exc:
            problems.append(exc.problem + (f" (line {exc.line})" if exc.line else ""))
    if mapping.item_table is not None:
        problems.extend(_item_table_problems(mapping.item_table))
    return problems


def _item_table_problems(m: ItemTableMapping) -> list[str]:
    try:
        table = open_table(m.path, delimiter=m.delimiter, has_header=m.has_header)
    except DatasetError as exc:
        return ["item table: " + exc.message]
    return _column_problems(table.columns, m.roles(), "item table " + Path(m.path).name)


# --------------------------------------------------------------------------- loading
def _timestamps(values: pd.Series, shown: str, header_lines: int) -> pd.Series:
    """Timestamps as int64 seconds: numbers pass through, dates ('2020-01-31') are converted."""
    if pd.api.types.is_datetime64_any_dtype(values.dtype):
        if values.isna().any():
            row = int(np.flatnonzero(values.isna().to_numpy())[0])
            raise ValueProblem(
                "timestamp is missing", path=shown, line=row + header_lines + 1, column="timestamp"
            )
        if getattr(values.dt, "tz", None) is not None:
            values = values.dt.tz_convert("UTC").dt.tz_localize(None)
        return (values - pd.Timestamp(0)) // pd.Timedelta(seconds=1)
    if pd.api.types.is_numeric_dtype(values.dtype):
        return values
    text = values.astype("string").str.strip()
    numeric = pd.to_numeric(text, errors="coerce")
    if numeric.notna().all():
        return numeric
    missing = text.isna() | (text == "")
    if missing.any():
        row = int(np.flatnonzero(missing.to_numpy())[0])
        raise ValueProblem(
            "timestamp is missing", path=shown, line=row + header_lines + 1, column="timestamp"
        )
    dates = pd.to_datetime(text, errors="coerce", format="mixed", utc=True)
    bad = dates.isna() & numeric.isna()
    if bad.any():
        row = int(np.flatnonzero(bad.to_numpy())[0])
        raise ValueProblem(
            f"timestamp '{text.iloc[row]}' is neither a number nor a date; {int(bad.sum())} such row(s)",
            path=shown,
            line=row + header_lines + 1,
            column="timestamp",
        )
    seconds = (dates.dt.tz_localize(None) - pd.Timestamp(0)) // pd.Timedelta(seconds=1)
    return numeric.where(numeric.notna(), seconds).astype(np.int64)


def load_item_table(m: ItemTableMapping) -> tuple[pd.DataFrame, str]:
    """An item table renamed to item_id / title / genres ('A|B') / year, and its shown path."""
    table = open_table(m.path, delimiter=m.delimiter, has_header=m.has_header)
    roles = m.roles()
    for role, col in roles.items():
        if col not in table.columns:
            raise column_error(
                table.src.shown,
                col,
                f"item table's {role}",
                table.columns,
                table.spec.delimiter if table.spec else None,
            )
    with file_lines(table.src):
        frame = table.read(list(roles.values()))
    out = pd.DataFrame({"item_id": frame[m.item_id]})
    if m.title:
        out["title"] = frame[m.title].astype("string").fillna("").astype(object)
    if m.genres:
        genres = frame[m.genres].astype("string").fillna("")
        if m.genre_separator != "|":
            genres = genres.str.split(re.escape(m.genre_separator), regex=True).map(
                lambda gs: "|".join(g.strip() for g in gs if g.strip())
            )
        out["genres"] = genres.astype(object)
    if m.year:
        out["year"] = pd.to_numeric(frame[m.year], errors="coerce")
    return out, table.src.shown


def load_table(path: str | Path, mapping: ColumnMapping, name: str | None = None) -> RatingsDataset:
    """Load a ratings table (CSV, TSV, delimited text or Parquet) through a column mapping."""
    table = open_table(path, delimiter=mapping.delimiter, has_header=mapping.has_header)
    roles = mapping.roles()
    delim = table.spec.delimiter if table.spec else None
    for role, col in roles.items():
        if not col:
            raise ColumnError(f"no column chosen for the {role}", path=table.src.shown)
        if col not in table.columns:
            raise column_error(table.src.shown, col, role, table.columns, delim)
    problems = _column_problems(table.columns, roles, table.src.name)
    if problems:
        raise ColumnError(problems[0], path=table.src.shown)
    labels = {
        col: f"{role} id" if role in ("user", "item") else role for role, col in roles.items()
    }
    items, item_path = (None, None)
    if mapping.item_table is not None:
        items, item_path = load_item_table(mapping.item_table)
    with file_lines(table.src):
        frame = table.read(list(roles.values()), labels)
        ratings = pd.DataFrame({role: frame[col] for role, col in roles.items()})
        del frame
        if "timestamp" in ratings.columns:
            ratings["timestamp"] = _timestamps(
                ratings["timestamp"], table.src.shown, table.header_lines
            )
        return build_dataset(
            ratings,
            name=name or Path(path).stem,
            source=str(path),
            items=items,
            scale=mapping.scale,
            path=table.src.shown,
            header_lines=table.header_lines,
            item_path=item_path,
        )
