"""Checking raw columns: ids (text kept as written), ratings and timestamps, and the notes a scale
deserves (an outlier that widens it, a minimum that means "no rating").

Every refusal is a :class:`~core.data.errors.ValueProblem` naming the file, line and column;
``line_of(row)`` turns a row position into the line shown to the user.
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Callable

import numpy as np
import pandas as pd

from .dataset import RatingScale, canonical_int
from .errors import ValueProblem

LineOf = Callable[[int], int]
FLOAT32_MAX = float(np.finfo(np.float32).max)
INT64_LIMIT = 2.0**63
_DATE = re.compile(r"^\d{4}-\d{1,2}-\d{1,2}([ T]\d|$)|^\d{1,2}/\d{1,2}/\d{2,4}$")


# --------------------------------------------------------------------------- ids
def _first(mask: np.ndarray) -> int:
    return int(np.flatnonzero(mask)[0])


def dense_ids(
    values: pd.Series, *, path: str | None, column: str, line_of: LineOf
) -> tuple[np.ndarray, np.ndarray]:
    """(codes int32 [n], ids [n_unique]) with codes ordered by id.

    Ids are text kept exactly as written: a column becomes int64 only when every value is the
    canonical text of an int64 (``7``, never ``007`` or ``7.0`` or ``1e3``), decided from the whole
    column; otherwise every id stays a string (``0001`` and ``1`` are two users, ISBNs keep their
    leading 0, ids past int64 and any Unicode work). Surrounding whitespace is dropped. Only the
    distinct values are examined (a pyarrow dictionary / pandas Categorical keeps 25M rows cheap).
    """
    if isinstance(values.dtype, pd.CategoricalDtype):
        codes = values.cat.codes.to_numpy()
        uniques = np.asarray(values.cat.categories, dtype=object)
    elif pd.api.types.is_integer_dtype(values.dtype) and not values.hasnans:
        codes, uniques = pd.factorize(values.to_numpy(), sort=True)
        return codes.astype(np.int32), np.asarray(uniques)  # dtype kept: fingerprints use it
    else:
        try:
            codes, uniques = pd.factorize(values, sort=False, use_na_sentinel=True)
        except TypeError:  # unhashable values: JSON objects or lists where an id should be
            bad = values.map(lambda v: isinstance(v, (dict, list))).to_numpy(dtype=bool)
            row = _first(bad) if bad.any() else 0
            raise ValueProblem(
                "id is a JSON object or list, not an id", path=path, line=line_of(row), column=column
            ) from None
        uniques = np.asarray(uniques, dtype=object)
    missing = codes < 0
    if missing.any():
        raise ValueProblem("id is missing", path=path, line=line_of(_first(missing)), column=column)
    text = np.array([_id_text(v) for v in uniques], dtype=object)
    empty = text == ""
    if empty.any():
        row = _first(np.isin(codes, np.flatnonzero(empty)))
        raise ValueProblem("id is missing (empty)", path=path, line=line_of(row), column=column)
    numbers = [canonical_int(t) for t in text]
    if all(n is not None for n in numbers):
        keys: np.ndarray = np.array(numbers, dtype=np.int64)
    else:
        keys = text
    ids, inverse = np.unique(keys, return_inverse=True)  # sorted; merges ' a' and 'a'
    return inverse.reshape(-1)[codes].astype(np.int32), ids


def _id_text(value: object) -> str:
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, (bool, np.bool_)):
        return str(value)
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    if isinstance(value, (float, np.floating)):
        if np.isnan(value):
            return ""
        return str(int(value)) if float(value).is_integer() else repr(float(value))
    return str(value).strip()


def align_ids(values: pd.Series, ids: np.ndarray) -> pd.Series:
    """Ids of a side table (items, users) in the form of the ratings' ids (for a merge)."""
    if isinstance(values.dtype, pd.CategoricalDtype):
        values = values.astype(object)
    target_int = np.asarray(ids).dtype.kind in "iu"
    if target_int and pd.api.types.is_integer_dtype(values.dtype):
        return values.astype("Int64")  # the usual case (MovieLens): no per-value work
    text = values.map(_id_text)
    if np.asarray(ids).dtype.kind in "iu":
        return text.map(lambda t: canonical_int(t) if t else None).astype("Int64")
    return text.astype(object)


# --------------------------------------------------------------------------- ratings
def ratings_column(
    values: pd.Series, *, path: str | None, column: str, line_of: LineOf
) -> np.ndarray:
    """Ratings as float64: numbers only (no dates, no true/false), finite, within float32."""
    if isinstance(values.dtype, pd.CategoricalDtype):
        values = values.astype(object)
    dtype = values.dtype
    if pd.api.types.is_bool_dtype(dtype):
        raise ValueProblem(
            "the rating column holds true/false values, not ratings",
            path=path, line=line_of(0), column=column,
            hint="map a numeric column as the rating, or leave it unmapped for implicit feedback",
        )  # fmt: skip
    if pd.api.types.is_datetime64_any_dtype(dtype) or isinstance(dtype, pd.DatetimeTZDtype):
        raise ValueProblem(
            "the rating column holds dates, not ratings",
            path=path, line=line_of(0), column=column, hint="map the date as the timestamp",
        )  # fmt: skip
    if pd.api.types.is_numeric_dtype(dtype):
        arr = values.to_numpy(dtype=np.float64, na_value=np.nan)
    else:
        arr = pd.to_numeric(values, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
        bad = np.isnan(arr)
        if bad.any():
            row = _first(bad)
            raw = values.iloc[row]
            text = "" if pd.isna(raw) else str(raw).strip()
            what = "is missing" if text == "" else f"'{text}' is not a number"
            if text.lower() in ("true", "false", "yes", "no"):
                what = f"'{text}' is a true/false value, not a rating"
            elif _DATE.match(text) or isinstance(raw, (datetime.date, datetime.datetime)):
                what = f"'{text}' is a date, not a rating (map it as the timestamp)"
            raise ValueProblem(
                f"rating {what}; {int(bad.sum())} such row(s)",
                path=path, line=line_of(row), column=column,
            )  # fmt: skip
    bad = ~np.isfinite(arr)
    if bad.any():
        row = _first(bad)
        what = "is missing" if np.isnan(arr[row]) else f"{arr[row]} is not finite"
        raise ValueProblem(
            f"rating {what}; {int(bad.sum())} such row(s)",
            path=path, line=line_of(row), column=column,
        )  # fmt: skip
    huge = np.abs(arr) > FLOAT32_MAX
    if huge.any():
        row = _first(huge)
        raise ValueProblem(
            f"rating {arr[row]:g} is too large to store (ratings are kept as 32-bit floats, "
            f"at most {FLOAT32_MAX:.3g}); {int(huge.sum())} such row(s)",
            path=path, line=line_of(row), column=column,
        )  # fmt: skip
    return arr


def timestamps_column(
    values: pd.Series, *, path: str | None, column: str, line_of: LineOf
) -> np.ndarray:
    """Timestamps as int64: numbers within int64 (1e30 is refused, never wrapped)."""
    if isinstance(values.dtype, pd.CategoricalDtype):
        values = values.astype(object)
    if pd.api.types.is_integer_dtype(values.dtype) and not values.hasnans:
        return values.to_numpy(dtype=np.int64)  # (no float copy: 25M rows stay cheap)
    numeric = pd.to_numeric(values, errors="coerce")
    arr = numeric.to_numpy(dtype=np.float64, na_value=np.nan)
    bad = ~np.isfinite(arr)
    if bad.any():
        row = _first(bad)
        raise ValueProblem(
            f"timestamp '{values.iloc[row]}' is not a number",
            path=path, line=line_of(row), column=column,
        )  # fmt: skip
    huge = np.abs(arr) >= INT64_LIMIT
    if huge.any():
        row = _first(huge)
        raise ValueProblem(
            f"timestamp {arr[row]:g} is out of range (not a time); {int(huge.sum())} such row(s)",
            path=path, line=line_of(row), column=column,
        )  # fmt: skip
    if pd.api.types.is_integer_dtype(numeric.dtype):
        return numeric.to_numpy(dtype=np.int64)
    return arr.astype(np.int64)


# --------------------------------------------------------------------------- scale notes
def check_given_scale(
    rating: np.ndarray, scale: RatingScale, *, strict: bool, path: str | None, column: str,
    line_of: LineOf, notes: list[str],
) -> None:  # fmt: skip
    """Ratings off a given scale are refused; off its step refused (``strict``: the format says so,
    e.g. whole stars in ML-100K) or noted."""
    distinct = pd.unique(rating)  # (a hash pass: 25M ratings hold a handful of values)
    in_range = (distinct >= scale.min - 1e-9) & (distinct <= scale.max + 1e-9)
    if in_range.all() and not scale.off_step(distinct).any():
        return
    off = (rating < scale.min - 1e-9) | (rating > scale.max + 1e-9)
    if off.any():
        row = _first(off)
        raise ValueProblem(
            f"rating {rating[row]:g} is off the scale {scale.min:g}..{scale.max:g}; "
            f"{int(off.sum())} such row(s)",
            path=path, line=line_of(row), column=column,
        )  # fmt: skip
    off = scale.off_step(rating)
    if off.any():
        row = _first(off)
        what = "whole stars" if scale.step == 1 else f"steps of {scale.step:g}"
        problem = (
            f"rating {rating[row]:g} is not on the scale's {what} ({scale.min:g}..{scale.max:g}); "
            f"{int(off.sum())} such row(s)"
        )
        if strict:
            raise ValueProblem(problem, path=path, line=line_of(row), column=column)
        notes.append(f"line {line_of(row)}: {problem}; kept as they are")


def scale_notes(
    rating: np.ndarray, scale: RatingScale, *, inferred: bool, line_of: LineOf
) -> list[str]:
    """Notes about what a scale may hide: a lone outlier, a minimum that means "no rating"."""
    notes: list[str] = []
    if not inferred and scale.min != 0:
        return notes
    tally = pd.Series(rating).value_counts(sort=False).sort_index()  # hash, then a few values
    values, counts = tally.index.to_numpy(dtype=np.float64), tally.to_numpy()
    n = len(rating)
    if inferred and len(values) >= 3 and n >= 20:
        rare = max(1, int(n * 0.001))
        for end, neighbour, inner in ((-1, -2, values[:-1]), (0, 1, values[1:])):
            gap = abs(values[end] - values[neighbour])
            inner_span = float(inner.max() - inner.min())
            if counts[end] <= rare and gap > max(inner_span, 1.0):
                row = _first(rating == values[end])
                lo, hi = float(inner.min()), float(inner.max())
                notes.append(
                    f"line {line_of(row)}: rating {values[end]:g} is far outside the others "
                    f"({lo:g}..{hi:g}) and widens the inferred scale to {scale.min:g}..{scale.max:g}; "
                    f"give the scale (e.g. {lo:g}:{hi:g}) to have such values refused"
                )
    if scale.min == 0 and scale.span > 1 and len(values) >= 3 and values[0] == 0:
        zeros = int(counts[0])
        if zeros == counts.max() and zeros >= 0.2 * n:
            notes.append(
                f"{zeros} rating(s) ({zeros / n:.0%}) are 0, the scale's minimum and its most common "
                "value: in some datasets (Book-Crossing) 0 means 'interacted, no rating'; remove "
                "those rows, or load the file without its rating column as implicit feedback"
            )
    return notes
