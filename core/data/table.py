"""Generic ratings tables (CSV, TSV, delimited text, gzip, JSON lines, Parquet): open, preview,
validate a column mapping, load.

The column-mapping dialog needs three things from a file it has never seen: a preview of the first
rows (:func:`preview_table`), a first guess of which column is which (:func:`guess_mapping`) and a
live list of problems with the user's choice (:func:`validate_mapping`). :func:`load_table` then
reads the mapped columns and hands them to :func:`~core.data.build.build_dataset`. Id columns are
read as text (a pyarrow dictionary: cheap for 25M rows), so ids are kept exactly as written.
The pieces live in :mod:`.source` (bytes), :mod:`.sniff` (format, delimiter, header),
:mod:`.reader` (pyarrow CSV) and :mod:`.mapping` (column mappings); their public names are
re-exported here.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa

from .build import build_dataset
from .dataset import RatingScale, RatingsDataset
from .errors import ColumnError, FormatError, ValueProblem
from .jsonl import read_json_array, read_jsonl, sample_columns
from .mapping import ColumnMapping, ItemTableMapping, guess_mapping
from .reader import ReadSpec, file_lines, physical_line, read_frame, read_table_arrow
from .sniff import (
    DELIMITER_CANDIDATES,
    column_error,
    delimiter_name,
    header_names,
    sniff_delimiter,
    sniff_escape,
    sniff_format,
    sniff_header,
    split_line,
)
from .source import SAMPLE_BYTES, Source, decode_sample
from .titles import title_column
from .ziptable import table_source

PARQUET_SUFFIXES = (".parquet", ".pq")
TEXT_ID = pa.dictionary(pa.int32(), pa.string())

__all__ = [
    "DELIMITER_CANDIDATES",
    "PARQUET_SUFFIXES",
    "SAMPLE_BYTES",
    "ColumnMapping",
    "ItemTableMapping",
    "ReadSpec",
    "Source",
    "TableFile",
    "column_error",
    "decode_sample",
    "delimiter_name",
    "file_lines",
    "guess_mapping",
    "header_names",
    "load_item_table",
    "load_table",
    "open_table",
    "physical_line",
    "preview_table",
    "read_frame",
    "read_table_arrow",
    "sniff_delimiter",
    "sniff_header",
    "split_line",
    "validate_mapping",
]


# --------------------------------------------------------------------------- opened tables
@dataclass
class TableFile:
    """A ratings/item file opened for reading: its format, columns and (for text) read spec.

    ``kind`` is 'text' (delimited), 'parquet', 'jsonl' (JSON lines) or 'json' (an array).
    """

    src: Source
    columns: list[str]
    kind: str = "text"
    spec: ReadSpec | None = None
    sample: str = ""
    notes: list[str] = field(default_factory=list)  # what was detected, for the dataset's notes

    @property
    def parquet(self) -> bool:
        return self.kind == "parquet"

    @property
    def header_lines(self) -> int:
        return self.spec.header_lines if self.spec is not None else 0

    def encoding_note(self, frame: pd.DataFrame) -> list[str]:
        """A note when the text was not UTF-8 (read as Latin-1)."""
        encoding = frame.attrs.get("encoding") or (self.spec.encoding if self.spec else "utf-8")
        if encoding.lower().replace("-", "") in ("utf8", "utf8sig", "ascii"):
            return []
        return [f"{self.src.name}: not UTF-8; read as {encoding}"]

    def read(
        self,
        columns: Sequence[str],
        labels: dict[str, str] | None = None,
        types: dict[str, pa.DataType] | None = None,
    ) -> pd.DataFrame:
        """The named columns (types inferred unless given), as a DataFrame in file order."""
        unique = list(dict.fromkeys(columns))
        if self.kind == "parquet":
            return _read_parquet(self.src, unique)
        if self.kind == "jsonl":
            return read_jsonl(self.src, unique)
        if self.kind == "json":
            frame = read_json_array(self.src)
            return frame[[c for c in unique if c in frame.columns]]
        assert self.spec is not None
        wanted = {c: t for c, t in (types or {}).items() if c in unique}
        spec = replace(self.spec, include=unique, types=wanted)
        return read_frame(self.src, spec, labels)


def open_table(
    path: str | Path | Source,
    *,
    delimiter: str | None = None,
    has_header: bool | None = None,
    encoding: str | None = None,
    escape: str | None = None,
) -> TableFile:
    """Open a table file: detect Parquet and JSON, else sniff encoding, delimiter and header.

    ``path`` may be a ``.zip`` holding one table (read as that table, see :mod:`.ziptable`).
    ``escape=None`` detects backslash-escaped quotes (``"Harry \\"Potter\\""``, Book-Crossing)
    and says so in :attr:`TableFile.notes`; ``escape=""`` reads quotes as doubled (``""``)
    without detecting. Raises :class:`FormatError` / :class:`ColumnError` naming the file.
    """
    src = table_source(path)
    if src.size == 0:
        raise FormatError("the file is empty", path=src.shown)
    head = src.head(4)
    if src.suffix in PARQUET_SUFFIXES or head == b"PAR1":
        return TableFile(src, _parquet_columns(src), kind="parquet")
    text, enc = decode_sample(src, encoding)
    fmt = sniff_format(text, src.suffix) if delimiter is None else "text"
    if fmt == "netflix":
        raise FormatError(
            "this is the Netflix-prize format (a movie line '1:' then user,rating,date lines), "
            "not a table with columns",
            path=src.shown,
            hint="load it as a dataset without a column mapping",
        )
    if fmt == "jsonl":
        columns = sample_columns(text)
        if not columns:
            raise FormatError("no JSON object found on the first lines", path=src.shown)
        return TableFile(src, columns, kind="jsonl", sample=text)
    if fmt == "json":
        columns = list(read_json_array(src).columns.astype(str))
        return TableFile(src, columns, kind="json", sample=text)
    notes: list[str] = []
    if (
        escape is None
        and '\\"' in text
        and sniff_escape(text, delimiter or sniff_delimiter(text, src.suffix, "\\"))
    ):  # (the delimiter sniffed as such a file is read: Book-Crossing's ';')
        escape = "\\"
        notes.append(
            f'{src.name}: backslash-escaped quotes (\\") detected inside quoted fields; read '
            "as quotes (other backslashes kept as written)"
        )
    delim = delimiter or sniff_delimiter(text, src.suffix, escape or None)
    escape = escape or None
    header = sniff_header(text, delim, escape) if has_header is None else has_header
    columns = header_names(text, delim, header, escape)
    if not columns:
        raise FormatError("the file is empty", path=src.shown)
    seen: set[str] = set()
    for name in columns:
        if name in seen:
            raise ColumnError(
                f"column '{name}' appears twice in the header", path=src.shown, line=1
            )
        seen.add(name)
    spec = ReadSpec(delim, header, columns, include=list(columns), encoding=enc, escape=escape)
    return TableFile(src, columns, kind="text", spec=spec, sample=text, notes=notes)


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
        seconds = values.to_numpy().astype("datetime64[s]").astype(np.int64)  # no ns overflow
        return pd.Series(seconds, index=values.index)
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
    seconds = pd.Series(
        dates.dt.tz_localize(None).to_numpy().astype("datetime64[s]").astype(np.int64),
        index=dates.index,
    )
    return numeric.where(numeric.notna(), seconds).astype(np.int64)


def load_item_table(m: ItemTableMapping) -> tuple[pd.DataFrame, str]:
    """An item table renamed to item_id / title / genres ('A|B') / year, and its shown path."""
    table = open_table(m.path, delimiter=m.delimiter, has_header=m.has_header, escape=m.escape)
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
        frame = table.read(list(roles.values()), types={m.item_id: TEXT_ID})
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
    out.attrs["notes"] = list(table.notes) + table.encoding_note(frame)
    return out, table.src.shown


def load_table(
    path: str | Path | Source,
    mapping: ColumnMapping,
    name: str | None = None,
    *,
    scale: RatingScale | None = None,
    notes: list[str] | None = None,
) -> RatingsDataset:
    """Load a ratings table (CSV, TSV, text, gzip, JSON lines, Parquet) through a column mapping.

    ``scale`` (or ``mapping.scale``) fixes the rating scale instead of inferring it. Without a
    rating column the file loads as implicit feedback. Without an item table, item titles come
    from a title column of the file itself (``mapping.title``, else one named like a title).
    """
    table = open_table(
        path, delimiter=mapping.delimiter, has_header=mapping.has_header, escape=mapping.escape
    )
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
    title, title_notes = title_column(table.columns, mapping, table.src.name)
    roles.pop("title", None)
    read = list(roles.values()) + ([title] if title else [])
    items, item_path = (None, None)
    if mapping.item_table is not None:
        items, item_path = load_item_table(mapping.item_table)
    shown_name = name or Path(re.sub(r"\.gz$", "", table.src.name)).stem
    with file_lines(table.src):
        types = {mapping.user: TEXT_ID, mapping.item: TEXT_ID, **({title: TEXT_ID} if title else {})}
        frame = table.read(read, labels, types=types)
        ratings = pd.DataFrame({role: frame[col] for role, col in roles.items()}, copy=False)
        titles = frame[title] if title else None
        all_notes = list(notes or []) + table.notes + table.encoding_note(frame) + title_notes
        if items is not None:
            all_notes += items.attrs.get("notes", [])
        if table.kind == "jsonl":
            all_notes.insert(0, "JSON lines: one review object per line")
        del frame
        if "timestamp" in ratings.columns:
            ratings["timestamp"] = _timestamps(
                ratings["timestamp"], table.src.shown, table.header_lines
            )
        return build_dataset(
            ratings,
            name=shown_name,
            source=str(path.shown if isinstance(path, Source) else path),
            items=items,
            scale=scale or mapping.scale,
            path=table.src.shown,
            header_lines=table.header_lines,
            item_path=item_path,
            notes=all_notes,
            # The files' own column names, for messages ('timestamp' is checked above).
            columns={r: c for r, c in roles.items() if r != "timestamp"}
            | ({"title": title} if title else {}),
            item_columns={"item_id": mapping.item_table.item_id} if mapping.item_table else None,
            titles=titles,
        )


from .preview import preview_table, validate_mapping  # noqa: E402  (re-exported)
