"""Reading a user's own CSV/TSV file with the dataset loader's reader (:mod:`core.data.table`:
encoding, BOM, CRLF, delimiter and blank lines handled in one place), every column kept as text
so ids stay exactly as written, and header names matched to column roles by synonyms.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from ..data.errors import ColumnError, FormatError

# column role -> accepted header names (compared lower-case, without spaces, '_' and '-')
SYNONYMS: dict[str, tuple[str, ...]] = {
    "user": ("user", "userid", "username", "uid", "customer", "customerid", "reviewerid"),
    "item": ("item", "itemid", "movie", "movieid", "film", "book", "bookid", "isbn", "asin",
             "businessid", "product", "productid", "track", "artist", "id", "title", "name"),
    "rating": ("rating", "ratings", "stars", "star", "score", "value"),
}


def _reader():
    """The dataset loader's reader (core.data): Source, open_table, physical_line, read_frame."""
    from ..data import table

    try:
        from ..data.reader import physical_line, read_frame
    except ImportError:
        physical_line, read_frame = table.physical_line, table.read_frame
    try:
        from ..data.source import Source
    except ImportError:
        Source = table.Source
    return Source, table.open_table, physical_line, read_frame


def _norm_header(name: str) -> str:
    return re.sub(r"[\s_\-.]", "", str(name).strip().lower())


def read_user_table(
    path: str | Path, required: Sequence[str], optional: Sequence[str] = ()
) -> tuple[pd.DataFrame, np.ndarray, str]:
    """Columns ``required`` + ``optional`` (roles, see ``SYNONYMS``) of a user's table as text.

    Returns (frame with one column per role found, the file line of each row, the name to show).
    """
    from dataclasses import replace

    import pyarrow as pa

    Source, open_table, physical_line, read_frame = _reader()
    shown = str(path)
    p = Path(path)
    if not p.exists():
        raise FormatError("no such file", path=shown)
    src = Source.file(p)
    table = open_table(src, has_header=True)
    if table.parquet:
        raise FormatError("a user's ratings must be a CSV/TSV text file", path=shown)
    by_norm: dict[str, str] = {}
    for col in table.columns:
        by_norm.setdefault(_norm_header(col), col)
    chosen: dict[str, str] = {}
    for role in (*required, *optional):
        for name in SYNONYMS.get(role, (role,)):
            col = by_norm.get(name)
            if col is not None and col not in chosen.values():
                chosen[role] = col
                break
    missing = [r for r in required if r not in chosen]
    if missing:
        wanted = ", ".join(required) + "".join(f"[,{o}]" for o in optional)
        raise ColumnError(
            f"missing column(s) {', '.join(missing)}; the file has "
            f"{', '.join(table.columns) or 'no columns'} (expected a header line: {wanted})",
            path=shown,
        )
    assert table.spec is not None
    cols = list(chosen.values())
    spec = replace(table.spec, include=cols, types={c: pa.string() for c in cols})
    frame = read_frame(src, spec)
    frame = pd.DataFrame({role: frame[col] for role, col in chosen.items()})
    for role in frame.columns:
        frame[role] = frame[role].map(lambda v: v.strip() if isinstance(v, str) else v)
    first_row_line = spec.header_lines + 1
    lines = np.arange(first_row_line, first_row_line + len(frame))
    if len(frame) and physical_line(src, int(lines[-1])) != int(lines[-1]):  # blank lines
        lines = np.array([physical_line(src, int(n)) for n in lines])
    return frame.reset_index(drop=True), lines, shown
