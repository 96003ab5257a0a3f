"""Sniffing a text table: its delimiter, whether the first line is a header, its column names,
and which of the formats other than delimited text it is (JSON lines, Netflix-prize blocks)."""

from __future__ import annotations

import csv
import re
from collections.abc import Sequence

from .errors import ColumnError
from .escapes import unescape_quotes
from .mapping import guess_mapping

DELIMITER_CANDIDATES = (",", "\t", ";", "|", "::", " ")
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


def _lines(text: str, limit: int = 50) -> list[str]:
    out = []
    for line in text.splitlines():
        if line.strip():
            out.append(line)
            if len(out) >= limit:
                break
    return out


def split_line(line: str, delimiter: str, escape: str | None = None) -> list[str]:
    """Fields of one line (quotes respected for single-character delimiters). With ``escape``,
    a quote it escapes inside a quoted field is a quote; other backslashes stay as written."""
    if len(delimiter) > 1:
        return [f.strip() for f in line.split(delimiter)]
    if escape:
        line = unescape_quotes(line, delimiter, escape)
    reader = csv.reader([line], delimiter=delimiter)
    return [f.strip() for f in next(reader, [])]


def sniff_delimiter(text: str, suffix: str = "", escape: str | None = None) -> str:
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
        counts = [len(split_line(ln, delim, escape)) for ln in lines]
        if not counts or min(counts) < 2:
            continue
        consistent = sum(c == counts[0] for c in counts) / len(counts)
        if consistent >= 0.9 and (delim == preferred or consistent * counts[0] > best_score):
            if delim == preferred:
                return delim
            best, best_score = delim, consistent * counts[0]
    return best if best is not None else (preferred or ",")


def _quote_scan(text: str, delimiter: str, backslash: bool) -> tuple[int, int]:
    """(badly quoted fields, backslash-escaped quotes) when ``text`` is read with ``"`` quotes
    escaped by a backslash (``backslash``) or doubled (RFC 4180). A quoted field is bad when its
    closing quote is followed by something other than the delimiter or the end of the line, or
    when it is still open at the end of the sample."""
    bad = escaped = 0
    i, n = 0, len(text)
    field_start = True
    while i < n:
        ch = text[i]
        if ch == delimiter or ch == "\n":
            field_start = True
            i += 1
            continue
        if not (field_start and ch == '"'):
            field_start = False
            i += 1
            continue
        i += 1  # inside a quoted field
        closed = False
        while i < n:
            c = text[i]
            if backslash and c == "\\" and i + 1 < n:
                escaped += text[i + 1] == '"'
                i += 2
            elif c == '"' and not backslash and text[i + 1 : i + 2] == '"':
                i += 2
            elif c == '"':
                closed, i = True, i + 1
                break
            else:
                i += 1
        if not closed:
            return bad + 1, escaped
        if i < n and text[i] not in (delimiter, "\r", "\n"):
            bad += 1
        field_start = False
    return bad, escaped


def sniff_escape(text: str, delimiter: str) -> bool:
    """Whether quotes inside quoted fields are escaped with a backslash (Book-Crossing writes
    ``"Harry \\"Potter\\""``) rather than doubled: the sample has such escapes, reads cleanly
    with them, and does not read cleanly with doubled quotes. A literal backslash in a field
    (``"AC\\DC"``, ``"C:\\data\\"``) reads cleanly with doubled quotes, so it is not taken
    for an escape."""
    if len(delimiter) != 1 or '\\"' not in text:
        return False
    bad_backslash, escaped = _quote_scan(text, delimiter, backslash=True)
    if not escaped or bad_backslash:
        return False
    bad_doubled, _ = _quote_scan(text, delimiter, backslash=False)
    return bad_doubled > 0


def _is_number(value: str) -> bool:
    try:
        float(value)
    except ValueError:
        return False
    return True


def sniff_header(text: str, delimiter: str, escape: str | None = None) -> bool:
    """Whether the first line names the columns: it is recognised, or it is text over numbers."""
    lines = _lines(text, 30)
    if not lines:
        return True
    first = split_line(lines[0], delimiter, escape)
    if guess_mapping(first, implicit=True) is not None:
        return True
    rest = [split_line(ln, delimiter, escape) for ln in lines[1:]]
    if any(_is_number(v) for v in first if v):
        return False
    for col in range(len(first)):
        values = [r[col] for r in rest if col < len(r) and r[col]]
        if values and sum(_is_number(v) for v in values) >= 0.8 * len(values):
            return True
    return not rest


def header_names(
    text: str, delimiter: str, has_header: bool, escape: str | None = None
) -> list[str]:
    """Column names: the header's, or ``col1``, ``col2``, ... for a file without a header."""
    lines = _lines(text, 1)
    if not lines:
        return []
    fields = split_line(lines[0], delimiter, escape)
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




_NETFLIX_MOVIE = re.compile(r"^\s*\d+:\s*$")
_NETFLIX_ROW = re.compile(r"^\s*[^,]+,[^,]+(,[^,]*)?\s*$")


def sniff_format(text: str, suffix: str = "") -> str:
    """'jsonl', 'json' (one JSON document, e.g. an array), 'netflix' or 'text' (delimited)."""
    lines = _lines(text, 30)
    if not lines:
        return "text"
    first = lines[0].lstrip("\ufeff").lstrip()
    if first.startswith("{"):
        return "jsonl"
    if first.startswith("[") and (suffix in (".json", ".jsonl", ".ndjson") or first[1:2] in "{\n "):
        return "json"
    if suffix in (".jsonl", ".ndjson", ".json"):
        return "jsonl"
    if _NETFLIX_MOVIE.match(first):
        if len(lines) == 1:
            return "netflix"
        rest = [ln for ln in lines[1:] if not _NETFLIX_MOVIE.match(ln)]
        if rest and sum(bool(_NETFLIX_ROW.match(ln)) for ln in rest) >= 0.8 * len(rest):
            return "netflix"
    return "text"
