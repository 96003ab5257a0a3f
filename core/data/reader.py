"""Fast reading of delimited text with pyarrow, and precise messages when a line is bad.

Reading uses pyarrow's multi-threaded CSV reader (explicit column types where the format is known),
because the C engine of pandas is several times slower on 25M-row files. The fast read never calls
back into Python (no row handler, native input streams): pyarrow can abort the interpreter when a
threaded read of a Python stream fails. When a read fails, a single-threaded re-scan finds the line.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv

from .errors import DatasetError, FormatError, ValueProblem
from .escapes import EscapedQuotes
from .sniff import delimiter_name
from .source import Source, read_guard

_SUBSTITUTE = "\x1f"  # stands in for a multi-character delimiter such as '::'
BLOCK_SIZE = 1 << 24


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
    # The character escaping a quote inside quoted fields ('\\' in Book-Crossing): such quotes
    # are rewritten as doubled ones while reading (escapes.py), other backslashes kept as
    # written. None: quotes are doubled, the text is read as it is (the fast path).
    escape: str | None = None

    @property
    def header_lines(self) -> int:
        return 1 if self.has_header else 0


class _ConversionFailed(Exception):
    """pyarrow could not convert a value to the requested/inferred type (re-read as text)."""


@contextmanager
def _arrow_stream(src: Source, spec: ReadSpec) -> Iterator[Any]:
    """The bytes pyarrow reads: the file itself; an in-memory copy with '::' -> one char; or,
    with an escape character, a stream rewriting escaped quotes as doubled ones."""
    if len(spec.delimiter) == 1:
        if spec.escape:
            with src.open() as raw:
                yield EscapedQuotes(raw, spec.delimiter, spec.escape)  # Python: one thread
            return
        with src.arrow() as f:
            yield f
        return
    data = src.read_all().replace(spec.delimiter.encode(spec.encoding), _SUBSTITUTE.encode())
    if spec.escape:
        data = EscapedQuotes(io.BytesIO(data), _SUBSTITUTE, spec.escape).read()
    yield pa.BufferReader(pa.py_buffer(data))  # native: safe for the threaded reader


def _native(src: Source, spec: ReadSpec) -> bool:
    return (src.native and not spec.escape) or len(spec.delimiter) > 1


def _arrow_options(spec: ReadSpec, types: dict[str, pa.DataType], handler, threads: bool):
    delim = spec.delimiter if len(spec.delimiter) == 1 else _SUBSTITUTE
    read = pacsv.ReadOptions(
        use_threads=threads,
        block_size=BLOCK_SIZE,
        # Our own (stripped) names, the header skipped: 'user, item' names a column 'item'.
        column_names=spec.columns,
        skip_rows=spec.header_lines,
        encoding="utf8" if _is_utf8(spec.encoding) else spec.encoding,
    )
    parse = pacsv.ParseOptions(
        delimiter=delim,
        quote_char='"' if spec.quoting else False,
        double_quote=True,  # escaped quotes arrive doubled (_arrow_stream)
        escape_char=False,
        invalid_row_handler=handler,
    )
    convert = pacsv.ConvertOptions(include_columns=spec.include, column_types=types)
    return read, parse, convert


def _invalid_row_error(
    src: Source, spec: ReadSpec, number: int | None, text: str, expected: int, actual: int
) -> FormatError:
    text = text.replace(_SUBSTITUTE, spec.delimiter)
    shown = text if len(text) <= 80 else text[:77] + "..."
    shown = "".join(ch if ch.isprintable() and ch != "\ufffd" else "?" for ch in shown)
    return FormatError(
        f"expected {expected} fields separated by {delimiter_name(spec.delimiter)} but found "
        f"{actual}: '{shown}'",
        path=src.shown,
        line=number,
        hint="check the separator and quoting of this line",
    )


def _locate_bad_row(src: Source, spec: ReadSpec, types: dict[str, pa.DataType]) -> FormatError:
    """Find and describe the first line with the wrong number of fields (a Python scan, only run
    when reporting an error: pyarrow's own row handler cannot report lines that are not text)."""
    expected = len(spec.columns)
    seen = 0
    with src.open() as raw:
        if spec.escape and len(spec.delimiter) == 1:
            raw = io.BufferedReader(EscapedQuotes(raw, spec.delimiter, spec.escape))
        text = io.TextIOWrapper(raw, encoding=spec.encoding, errors="replace", newline="")
        if len(spec.delimiter) > 1:
            rows: Iterator[list[str]] = (
                line.rstrip("\r\n").split(spec.delimiter) if line.strip() else [] for line in text
            )
        else:
            rows = csv.reader(
                text,
                delimiter=spec.delimiter,
                quoting=csv.QUOTE_MINIMAL if spec.quoting else csv.QUOTE_NONE,
                strict=False,
            )
        try:
            for fields in rows:
                if not fields or fields == [""]:
                    continue
                seen += 1
                if seen <= spec.header_lines or len(fields) == expected:
                    continue
                shown = spec.delimiter.join(fields)
                return _invalid_row_error(src, spec, seen, shown, expected, len(fields))
        except csv.Error as exc:
            return FormatError(f"cannot parse the line ({exc})", path=src.shown, line=seen + 1)
    return FormatError("cannot parse the file (malformed line)", path=src.shown)


def _long_line(src: Source, limit: int) -> int | None:
    """The number of the first line longer than ``limit`` bytes (C-speed scan), or None."""
    number, length = 1, 0
    with src.open() as f:
        while chunk := f.read(1 << 24):
            start = 0
            while (end := chunk.find(b"\n", start)) >= 0:
                if length + end - start > limit:
                    return number
                number, length, start = number + 1, 0, end + 1
            length += len(chunk) - start
            if length > limit:
                return number
    return None


def read_table_arrow(src: Source, spec: ReadSpec) -> pa.Table:
    """Read the included columns; raise :class:`FormatError` for malformed lines.

    A value that does not convert to its column's type raises the internal ``_ConversionFailed``
    so the caller can re-read as text and name the exact value and line.
    """
    try:
        with read_guard(src), _arrow_stream(src, spec) as stream:
            options = _arrow_options(spec, spec.types, None, threads=_native(src, spec))
            table = pacsv.read_csv(stream, *options)
    except pa.ArrowInvalid as exc:
        message = str(exc)
        if "Expected" in message and "columns, got" in message:
            raise _locate_bad_row(src, spec, spec.types) from exc
        if "conversion error" in message or "UTF8" in message or "utf8" in message:
            raise _ConversionFailed(message) from exc
        if "Empty CSV file" in message:
            raise FormatError("the file is empty", path=src.shown) from exc
        if "skip initial" in message:
            raise FormatError("no ratings: the file has only a header line", path=src.shown) from exc
        if "straddl" in message or "block size" in message:
            line = _long_line(src, BLOCK_SIZE // 2)
            raise FormatError(
                f"a line longer than {BLOCK_SIZE >> 21} MB: not a ratings table (a field too long, "
                "or an unclosed quote)",
                path=src.shown,
                line=line,
            ) from exc
        raise FormatError(f"cannot parse the file ({message[:300]})", path=src.shown) from exc
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
        frame = table.to_pandas(split_blocks=True, self_destruct=True)
        frame.attrs["encoding"] = spec.encoding
        return frame
    if "utf8" in failure.lower():
        if _is_utf8(spec.encoding):  # not UTF-8 after all (e.g. a Windows export): Latin-1 reads
            return read_frame(src, replace(spec, encoding="latin-1"), labels)
        raise FormatError(f"the file is not valid {spec.encoding} text ({failure})", path=src.shown)
    text_spec = replace(spec, types={c: pa.string() for c in spec.include})
    try:
        frame = read_table_arrow(src, text_spec).to_pandas()
    except _ConversionFailed as exc:
        raise FormatError(f"cannot read the file as text ({exc})", path=src.shown) from exc
    frame = _check_numbers(frame, src, spec, labels or {}, failure)
    frame.attrs["encoding"] = spec.encoding
    return frame


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


