"""What the column-mapping dialog asks of a file: its first rows (:func:`preview_table`) and the
problems with a mapping, as sentences (:func:`validate_mapping`)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from .errors import DatasetError
from .jsonl import preview_rows, read_json_array
from .mapping import ColumnMapping, ItemTableMapping
from .sniff import _lines as sample_lines
from .sniff import split_line
from .table import _column_problems, _read_parquet, _timestamps, open_table


def preview_table(
    path: str | Path,
    n: int = 20,
    *,
    delimiter: str | None = None,
    has_header: bool | None = None,
    escape: str | None = None,
) -> pd.DataFrame:
    """The first ``n`` rows as text, for the column-mapping dialog.

    ``attrs`` carries what was detected: ``delimiter``, ``has_header``, ``encoding``, ``format``.
    Rows are split as the file will be read (backslash-escaped quotes detected as in
    :func:`~core.data.table.open_table`). ``path`` may be a ``.zip`` holding one table.
    Raises :class:`DatasetError` when the file cannot be read.
    """
    table = open_table(path, delimiter=delimiter, has_header=has_header, escape=escape)
    if table.kind == "parquet":
        frame = _read_parquet(table.src, [], n_rows=n).astype("string")
        frame.attrs.update(delimiter=None, has_header=True, encoding=None, format="parquet")
        return frame
    if table.kind in ("jsonl", "json"):
        if table.kind == "jsonl":
            frame = preview_rows(table.sample, n)
        else:
            frame = read_json_array(table.src).head(n).astype("string")
        frame = frame.reindex(columns=table.columns)
        frame.attrs.update(delimiter=None, has_header=True, encoding="utf-8", format=table.kind)
        return frame
    spec = table.spec
    assert spec is not None
    rows = [
        split_line(line, spec.delimiter, spec.escape)
        for line in sample_lines(table.sample, n + spec.header_lines)
    ]
    rows = rows[spec.header_lines :][:n]
    width = len(table.columns)
    rows = [(r + [""] * width)[:width] for r in rows]
    frame = pd.DataFrame(rows, columns=table.columns, dtype="string")
    frame.attrs.update(
        delimiter=spec.delimiter, has_header=spec.has_header, encoding=spec.encoding, format="text"
    )
    return frame



def validate_mapping(path: str | Path, mapping: ColumnMapping) -> list[str]:
    """Problems with a mapping, as sentences for the dialog; empty when it can be loaded.

    Values are checked on the first rows only (the full check happens when loading). A mapping
    without a rating column is valid: the file loads as implicit feedback.
    """
    try:
        table = open_table(
            path, delimiter=mapping.delimiter, has_header=mapping.has_header, escape=mapping.escape
        )
        preview = preview_table(
            path, 200, delimiter=mapping.delimiter, has_header=mapping.has_header,
            escape=mapping.escape,
        )  # fmt: skip
    except DatasetError as exc:
        return [exc.message]
    roles = mapping.roles()
    problems = _column_problems(table.columns, roles, Path(path).name)
    if problems:
        return problems
    first_line = table.header_lines + 1
    if mapping.rating:
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
