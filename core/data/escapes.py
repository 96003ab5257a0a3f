r"""Quotes escaped with a backslash inside quoted fields, as Book-Crossing writes them
(``"Harry \"Potter\"!"``), rewritten as the standard doubled quotes (``"Harry ""Potter""!"``)
before a CSV parser sees the text.

A CSV parser given an escape character drops it before *any* character, so ``"AC\DC Live"``
would become ``ACDC Live`` and ``"C:\data"`` ``C:data``. Ids must stay as written, so only an
escape character directly before a quote, inside a quoted field, is an escape; every other
backslash is kept. Backslashes pair up left to right inside a quoted field: ``"dir\\"`` ends
with two backslashes and a closing quote; ``"a\\\"b"`` holds ``a\\"b``.

:class:`EscapedQuotes` does it as a stream (constant memory, C-speed regular expressions over
4 MB chunks) for the pyarrow reader; :func:`unescape_quotes` does it for a piece of text (a
line of the sample). Files without escapes never come here.
"""

from __future__ import annotations

import io
import re
from typing import AnyStr, BinaryIO

CHUNK = 1 << 22
CARRY_LIMIT = 1 << 24  # a quoted field longer than this is left as is (the reader refuses it)


class _Rewriter:
    """Incremental rewriting of escaped quotes (bytes or str), carrying an unfinished quoted
    field from one piece to the next."""

    def __init__(self, delimiter: AnyStr, escape: AnyStr) -> None:
        if len(escape) != 1 or escape in ('"', delimiter):
            raise ValueError(f"escape character {escape!r} must be one character, not a quote")
        is_bytes = isinstance(delimiter, bytes)

        def pattern(text: str) -> re.Pattern:
            return re.compile(text.encode("latin-1") if is_bytes else text, re.DOTALL)

        d = re.escape(delimiter.decode("latin-1") if is_bytes else delimiter)
        e = re.escape(escape.decode("latin-1") if is_bytes else escape)
        # A quoted field starts right after a delimiter or a line end; inside it, escape pairs,
        # doubled quotes and other characters; it closes at a quote not followed by another.
        field = rf'(?<=[{d}\r\n])"(?:[^"{e}]++|{e}.|"")*+"'
        # A run: text holding no quote except those of complete quoted fields. When more text
        # may follow, a field must not end at the end of the piece (the closing quote could be
        # the first of a doubled quote).
        self._run_final = pattern(rf'(?:{field}(?!")|[^"]++)++')
        self._run_more = pattern(rf'(?:{field}(?=[^"])|[^"]++)++')
        self._pair = pattern(rf'{e}(?:(")|.)')
        self._quote = b'"' if is_bytes else '"'
        self._escaped_quote = escape + self._quote
        self._doubled = self._quote * 2
        self._starts = (delimiter, b"\r" if is_bytes else "\r", b"\n" if is_bytes else "\n")
        self._empty = delimiter[:0]
        self._prev = self._starts[2]  # the text starts at a field start
        self._carry = self._empty

    def _fix(self, run: AnyStr) -> AnyStr:
        if self._escaped_quote not in run:
            return run
        # Every quote in a run belongs to a quoted field, so a pair (escape, quote) is an
        # escaped quote: doubled instead. Other pairs (escape, any) are kept as written.
        return self._pair.sub(lambda m: self._doubled if m.group(1) else m.group(0), run)

    def feed(self, data: AnyStr, final: bool) -> AnyStr:
        """The rewritten text of everything fed so far that is settled (all of it when
        ``final``)."""
        buf = self._prev + self._carry + data
        run = self._run_final if final else self._run_more
        out = []
        pos, n = 1, len(buf)
        while pos < n:
            m = run.match(buf, pos)
            end = m.end() if m else pos
            if end > pos:
                out.append(self._fix(buf[pos:end]))
            if end >= n:
                pos = n
                break
            # buf[end] is a quote that does not start a complete quoted field: an unfinished
            # field (wait for more text) or a quote inside an unquoted field (kept as is).
            if not final and buf[end - 1 : end] in self._starts and n - end <= CARRY_LIMIT:
                pos = end
                break
            out.append(self._quote)
            pos = end + 1
        self._carry = buf[pos:]
        if pos > 1:
            self._prev = buf[pos - 1 : pos]
        return self._empty.join(out)


def unescape_quotes(text: str, delimiter: str, escape: str = "\\") -> str:
    """``text`` with each ``escape`` + quote inside a quoted field written as a doubled quote."""
    if escape + '"' not in text:
        return text
    return _Rewriter(delimiter, escape).feed(text, final=True)


class EscapedQuotes(io.RawIOBase):
    """A read-only binary stream: ``raw`` with escaped quotes rewritten as doubled quotes.

    The delimiter and escape character must be single ASCII characters (the text may be UTF-8
    or any ASCII-compatible encoding: their bytes never occur inside other characters). Line
    breaks are kept, so line numbers do not change.
    """

    def __init__(self, raw: BinaryIO, delimiter: str, escape: str = "\\") -> None:
        super().__init__()
        self._raw = raw
        self._rewriter = _Rewriter(delimiter.encode("latin-1"), escape.encode("latin-1"))
        self._pending = memoryview(b"")
        self._done = False

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:  # type: ignore[override]
        while not self._pending and not self._done:
            data = self._raw.read(CHUNK)
            self._done = not data
            self._pending = memoryview(self._rewriter.feed(data, final=self._done))
        n = min(len(buffer), len(self._pending))
        buffer[:n] = self._pending[:n]
        self._pending = self._pending[n:]
        return n
