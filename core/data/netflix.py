"""The Netflix-prize format: per-movie blocks, a line ``1:`` then ``user,rating,date`` lines.

``combined_data_*.txt`` (or one ``mv_*.txt`` file) is read as one column of lines with pyarrow and
split with vectorised string kernels, so 100M lines stay in C. Titles come from a
``movie_titles.csv`` / ``movie_titles.txt`` beside the file (``id,year,title``, the title may hold
commas; Latin-1 in the original release), when there is one.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from .build import build_dataset
from .dataset import RatingScale, RatingsDataset
from .errors import FormatError
from .reader import file_lines
from .source import Source, decode_sample, detect_encoding, read_guard
from .ziptable import table_source

NETFLIX_SCALE = RatingScale(1.0, 5.0, 1.0)
_TITLE_FILES = re.compile(r"(^|[-_.])movie_titles\.(csv|txt)$", re.IGNORECASE)


def _lines(src: Source) -> pa.Array:
    """Every non-empty line as one string column (no quoting, no delimiter)."""
    options = (
        pacsv.ReadOptions(column_names=["line"], use_threads=src.native, block_size=1 << 24),
        pacsv.ParseOptions(delimiter="\x1e", quote_char=False),
        pacsv.ConvertOptions(column_types={"line": pa.string()}),
    )
    try:
        with read_guard(src), src.arrow() as stream:
            table = pacsv.read_csv(stream, *options)
    except pa.ArrowInvalid as exc:
        raise FormatError(f"cannot read the file ({str(exc)[:200]})", path=src.shown) from exc
    return pc.utf8_trim_whitespace(table.column("line").combine_chunks())


def read_blocks(src: Source) -> pd.DataFrame:
    """user, item (the movie id), rating, timestamp (the date) in file order."""
    lines = _lines(src)
    is_movie = pc.ends_with(lines, ":").to_numpy(zero_copy_only=False)
    if len(is_movie) == 0:
        raise FormatError("the file is empty", path=src.shown)
    if not is_movie[0]:
        raise FormatError(
            "a Netflix-prize file starts with a movie line such as '1:'", path=src.shown, line=1
        )
    starts = np.flatnonzero(is_movie)
    movie_text = pc.utf8_slice_codeunits(pc.take(lines, pa.array(starts)), 0, -1)
    block = np.cumsum(is_movie) - 1  # block of each line
    rows = np.flatnonzero(~is_movie)
    parts = pc.split_pattern(pc.take(lines, pa.array(rows)), ",")
    width = pc.list_value_length(parts).to_numpy(zero_copy_only=False)
    bad = (width < 2) | (width > 3)
    if bad.any():
        at = int(rows[np.flatnonzero(bad)[0]])
        raise FormatError(
            f"expected 'user,rating,date' but found '{lines[at].as_py()[:80]}'",
            path=src.shown,
            line=at + 1,
        )
    movies, movie_code = np.unique(np.array(movie_text.to_pylist(), dtype=object), return_inverse=True)
    frame = pd.DataFrame(
        {
            "user": pc.list_element(parts, 0).dictionary_encode().to_pandas(),
            "item": pd.Categorical.from_codes(movie_code[block[rows]], pd.Index(movies)),
            "rating": pc.list_element(parts, 1).to_pandas(),
        }
    )
    if (width == 3).all():
        dates = pc.list_element(parts, 2)
        parsed = pc.strptime(dates, format="%Y-%m-%d", unit="s", error_is_null=True)
        missing = pc.is_null(parsed).to_numpy(zero_copy_only=False)
        if missing.any():
            at = int(rows[np.flatnonzero(missing)[0]])
            raise FormatError(
                f"date '{dates[int(np.flatnonzero(missing)[0])].as_py()}' is not YYYY-MM-DD",
                path=src.shown,
                line=at + 1,
                column="date",
            )
        frame["timestamp"] = parsed.cast(pa.int64()).to_numpy(zero_copy_only=False)
    frame.attrs["rows"] = rows  # row i of the frame is line rows[i] + 1 (non-empty lines)
    return frame


def find_titles(path: Path) -> Path | None:
    """The one movie_titles file beside ``path`` (e.g. netflix-movie_titles.csv), if any."""
    try:
        found = [p for p in path.parent.iterdir() if _TITLE_FILES.search(p.name) and p.is_file()]
    except OSError:
        return None
    return found[0] if len(found) == 1 else None


def read_titles(src: Source) -> tuple[pd.DataFrame, str | None]:
    """item_id, title, year from ``id,year,title`` lines (titles may contain commas)."""
    encoding, note = detect_encoding(src, legacy="latin-1")
    text = src.read_all().decode(encoding)
    records = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        parts = line.split(",", 2)
        if len(parts) < 3 or not parts[0].strip().isdigit():
            if number == 1:
                continue  # a header line
            raise FormatError("expected 'id,year,title'", path=src.shown, line=number)
        year = pd.to_numeric(parts[1].strip(), errors="coerce")
        records.append((parts[0].strip(), parts[2].strip(), year))
    frame = pd.DataFrame(records, columns=["item_id", "title", "year"])
    return frame, note


def load_netflix(
    path: str | Path, *, name: str | None = None, scale: RatingScale | None = None
) -> RatingsDataset:
    """Load a Netflix-prize block file (and its movie titles when they lie beside it).

    ``path`` may be a ``.zip`` holding the one block file (no titles are looked for then).
    """
    src = table_source(path)
    decode_sample(src)  # empty / binary files fail here with the usual message
    frame = read_blocks(src)
    rows = frame.attrs.pop("rows")
    notes = ["Netflix-prize format: movie blocks ('1:') of user,rating,date lines"]
    items, item_path = None, None
    titles = find_titles(Path(path)) if src.member is None else None
    if titles is not None:
        title_src = Source.file(titles)
        items, note = read_titles(title_src)
        item_path = title_src.shown
        if note:
            notes.append(note)
        rated = list(frame["item"].cat.categories)
        items = items[items["item_id"].isin(set(rated))].drop_duplicates("item_id")
        lacking = [m for m in rated if m not in set(items["item_id"])]
        if lacking:
            notes.append(
                f"{titles.name} has no title for {len(lacking)} of {len(rated)} rated movies "
                f"(e.g. {lacking[0]}): they are shown as 'Movie <id>'"
            )
            extra = pd.DataFrame({"item_id": lacking, "title": [f"Movie {m}" for m in lacking]})
            items = pd.concat([items, extra], ignore_index=True)
    else:
        notes.append("no movie_titles.csv beside the file: movies are shown by id")

    with file_lines(src):
        dataset = build_dataset(
            frame,
            name=name or Path(src.name).stem,
            source=str(path),
            items=items,
            scale=scale or NETFLIX_SCALE,
            path=src.shown,
            header_lines=0,
            item_path=item_path,
            notes=notes,
            strict_scale=scale is None,
            row_lines=rows + 1,
        )
    return dataset
