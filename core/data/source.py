"""Where bytes come from: a file on disk (plain or gzip) or a member of a zip archive.

Every way reading can fail becomes a :class:`~core.data.errors.FormatError` naming the file:
missing, a folder, a pipe or device (never opened: a FIFO would block and ``/dev/urandom`` never
ends), permission denied, a damaged / encrypted / unsupported zip member, a damaged gzip stream.
Files are only ever opened for reading.
"""

from __future__ import annotations

import codecs
import gzip
import stat
import zipfile
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

import pyarrow as pa

from .errors import DatasetError, FormatError

SAMPLE_BYTES = 1 << 16
GZIP_MAGIC = b"\x1f\x8b"
ZIP_METHODS = {
    zipfile.ZIP_STORED: "stored",
    zipfile.ZIP_DEFLATED: "deflate",
    zipfile.ZIP_BZIP2: "bzip2",
    zipfile.ZIP_LZMA: "lzma",
}
SIDE_FILE_LIMIT = 256 << 20  # side files (titles, users) are decoded whole to pick the encoding


@dataclass(frozen=True)
class Source:
    """A file to read, on disk or inside a zip archive, and how to name it in messages.

    Zip members are streamed from the archive (never extracted to disk), so a source can be
    opened more than once: the fast read and, on error, a precise re-scan. ``gzip`` files
    (``ratings.csv.gz``) are decompressed on the fly.
    """

    shown: str
    size: int
    path: Path
    member: str | None = None
    gzip: bool = False

    @classmethod
    def file(cls, path: str | Path) -> Source:
        p = Path(path)
        try:
            info = p.stat()
        except FileNotFoundError:
            raise FormatError("file not found", path=p) from None
        except OSError as exc:
            raise FormatError(f"cannot read the file ({exc.strerror or exc})", path=p) from exc
        if stat.S_ISDIR(info.st_mode):
            raise FormatError("this is a folder, not a file", path=p)
        if not stat.S_ISREG(info.st_mode):
            kind = "a pipe (FIFO)" if stat.S_ISFIFO(info.st_mode) else "a device or socket"
            raise FormatError(
                f"not a regular file: this is {kind}, which is not read",
                path=p,
                hint="save the data to a file first",
            )
        src = cls(str(p), info.st_size, p)
        if info.st_size >= 2 and src.head(2) == GZIP_MAGIC:
            return cls(str(p), info.st_size, p, gzip=True)
        return src

    @classmethod
    def zip_member(cls, archive: str | Path, info: zipfile.ZipInfo) -> Source:
        return cls(f"{archive}!/{info.filename}", info.file_size, Path(archive), info.filename)

    @property
    def name(self) -> str:
        return self.member.rsplit("/", 1)[-1] if self.member else self.path.name

    @property
    def suffix(self) -> str:
        """The extension that says the format: 'ratings.csv.gz' -> '.csv'."""
        name = self.name.lower()
        if name.endswith(".gz"):
            name = name[:-3]
        return Path(name).suffix

    @property
    def native(self) -> bool:
        """Whether pyarrow can read it without calling back into Python (see :meth:`arrow`)."""
        return self.member is None

    def _check_member(self, archive: zipfile.ZipFile) -> None:
        info = archive.getinfo(self.member or "")
        if info.flag_bits & 0x1:
            raise FormatError(
                "this zip member is encrypted (password-protected) and cannot be read",
                path=self.shown,
                hint="extract it with its password first",
            )
        if info.compress_type not in ZIP_METHODS:
            raise FormatError(
                f"this zip member uses compression method {info.compress_type}, which cannot be "
                f"read (supported: {', '.join(ZIP_METHODS.values())})",
                path=self.shown,
                hint="extract it with another tool, or re-zip it with deflate",
            )

    @contextmanager
    def open(self) -> Iterator[BinaryIO]:
        """A binary stream of the (decompressed) content; read errors become FormatError."""
        with read_guard(self):
            if self.member is None:
                stream: Any = gzip.open(self.path, "rb") if self.gzip else open(self.path, "rb")  # noqa: SIM115
            else:
                with zipfile.ZipFile(self.path) as archive:
                    self._check_member(archive)
                    stream = archive.open(self.member)  # stays valid after the archive closes
            try:
                yield stream
            finally:
                stream.close()

    @contextmanager
    def arrow(self) -> Iterator[Any]:
        """A stream for pyarrow's readers.

        Files on disk are opened natively: pyarrow's multi-threaded CSV reader given a Python
        file object can abort the interpreter when a read fails (seen with a 45 MB field). Zip
        members are Python streams, so callers read them single-threaded (:attr:`native`).
        """
        if self.member is not None:
            with self.open() as stream:
                yield stream
            return
        with read_guard(self):
            stream = pa.input_stream(str(self.path), compression="gzip" if self.gzip else None)
        try:
            yield stream
        finally:
            stream.close()

    def head(self, n: int = SAMPLE_BYTES) -> bytes:
        with self.open() as f:
            return f.read(n)

    def read_all(self, limit: int | None = None) -> bytes:
        with self.open() as f:
            data = f.read() if limit is None else f.read(limit + 1)
        if limit is not None and len(data) > limit:
            raise FormatError(f"the file is larger than {limit >> 20} MB", path=self.shown)
        return data


@contextmanager
def read_guard(src: Source) -> Iterator[None]:
    try:
        yield
    except DatasetError:
        raise
    except PermissionError as exc:
        raise FormatError("permission denied: the file cannot be read", path=src.shown) from exc
    except RuntimeError as exc:  # zipfile: "File ... is encrypted, password required"
        if "encrypt" not in str(exc) and "password" not in str(exc):
            raise
        raise FormatError(
            "this zip member is encrypted (password-protected) and cannot be read",
            path=src.shown,
        ) from exc
    except NotImplementedError as exc:  # zipfile: "That compression method is not supported"
        raise FormatError(f"cannot read this zip member ({exc})", path=src.shown) from exc
    except gzip.BadGzipFile as exc:
        raise FormatError(f"the gzip file is damaged ({exc})", path=src.shown) from exc
    except (zipfile.BadZipFile, zlib.error, EOFError) as exc:
        what = "gzip file" if src.gzip else "zip archive"
        raise FormatError(f"the {what} is damaged or truncated ({exc})", path=src.shown) from exc
    except OSError as exc:
        raise FormatError(f"cannot read the file ({exc})", path=src.shown) from exc


# --------------------------------------------------------------------------- text
def decode_sample(src: Source, encoding: str | None = None) -> tuple[str, str]:
    """Decode the start of a text file, returning (text, encoding).

    ``encoding=None`` means UTF-8, falling back to Latin-1 (which decodes any byte, so binary data
    must be rejected first: NUL bytes mean UTF-16/32 text or a binary file, neither of which the
    CSV readers can parse). The text is cut at the last complete line when the file is longer.
    """
    raw = src.head(SAMPLE_BYTES + 1)
    truncated = len(raw) > SAMPLE_BYTES
    raw = raw[:SAMPLE_BYTES]
    if not raw.strip():
        raise FormatError("the file is empty", path=src.shown)
    if raw.startswith(b"PK\x03\x04"):
        named_zip = str(src.shown).lower().endswith(".zip")
        raise FormatError("this is a zip archive", path=src.shown,
                          hint="extract the table from it and give that file" if named_zip
                          else "name it .zip, or extract it")
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
            text = codecs.getincrementaldecoder(enc)().decode(raw, final=not truncated)
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
            hint="choose a CSV, TSV, JSON lines, text or Parquet file",
        )
    if truncated:
        cut = text.rfind("\n")
        if cut < 0:
            raise FormatError(
                "the first line is longer than 64 KB: not a ratings table", path=src.shown
            )
        text = text[: cut + 1]
    return text, encoding


def detect_encoding(src: Source, legacy: str = "latin-1") -> tuple[str, str | None]:
    """The encoding of a (small) side file: UTF-8 if all of it decodes, else ``legacy``.

    Returns (encoding, note), the note saying which was chosen, for the dataset's notes
    (``None`` for plain ASCII, which every encoding reads alike).
    """
    data = src.read_all(SIDE_FILE_LIMIT)
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        return legacy, (
            f"{src.name}: not UTF-8 (first non-UTF-8 byte on line {line}); read as "
            f"{_pretty(legacy)}"
        )
    if data.isascii():
        return "utf-8", None
    return "utf-8", f"{src.name}: read as UTF-8"


def _pretty(encoding: str) -> str:
    return {"latin-1": "Latin-1 (ISO-8859-1)", "utf-8": "UTF-8"}.get(encoding, encoding)
