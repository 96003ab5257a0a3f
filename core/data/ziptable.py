"""A ``.zip`` that holds one ratings table rather than a MovieLens release.

A MovieLens layout inside a zip wins (:mod:`.mllayout`); a ``ratings.csv`` without ``movieId``
(goodbooks-10k) is not one. Otherwise the zip's *tables* are its files at the top or one folder
down (where MovieLens files are looked for too), leaving out folder entries, macOS metadata
(``__MACOSX/``, ``._x``, ``.DS_Store``), hidden files and documentation (README, LICENSE,
``.md``, ``.pdf``, images, code). One table is read exactly as the same file on disk would be
(streamed from the archive, never extracted; the archive is only opened for reading), and every
message names it as ``archive.zip!/member.csv``. Several tables are refused, listing them; so
is a table only found deeper than one folder (``a/b/clicks.csv``), saying to unzip it.
"""

from __future__ import annotations

import zipfile
from pathlib import Path, PurePosixPath

from .errors import DatasetError, FormatError
from .mllayout import EXPECTED, KEY_FILES, MovieLensLayout, _listing, find_layout, is_movielens_file
from .source import Source

# Extensions of files that are not data tables (documentation, images, code, archives).
NOT_TABLE_SUFFIXES = frozenset({
    ".md", ".rst", ".pdf", ".html", ".htm", ".doc", ".docx", ".odt", ".rtf",  # documents
    ".png", ".jpg", ".jpeg", ".gif", ".svg", ".bmp",  # images
    ".py", ".ipynb", ".r", ".sh", ".bat", ".js", ".css", ".exe", ".dll", ".so",  # code
    ".zip", ".7z", ".rar", ".tar",  # archives
    ".pkl", ".pickle", ".pt", ".pth", ".npy", ".npz", ".h5", ".sqlite", ".db",  # binary data
    ".xls", ".xlsx", ".ods",  # spreadsheets (save them as CSV)
})  # fmt: skip
# Names (without extension, lower case) of documentation files, e.g. README.txt, LICENSE.
NOT_TABLE_STEMS = frozenset({
    "readme", "license", "licence", "copying", "changelog", "changes", "notice", "citation",
    "authors", "contributors", "manifest",
})  # fmt: skip
_SHOWN = 12  # members listed in a message


def _is_table_name(name: str, max_depth: int | None = 2) -> bool:
    """Whether a member's path could be a data table (by its name alone), at most
    ``max_depth`` parts deep (``None``: at any depth)."""
    parts = PurePosixPath(name).parts
    if not parts or (max_depth is not None and len(parts) > max_depth):
        return False
    if parts[0] == "__MACOSX" or any(p.startswith(".") for p in parts[:-1]):
        return False
    base = parts[-1]
    if base.startswith(".") or base.startswith("~$"):
        return False
    lower = base.lower()
    suffix = PurePosixPath(lower[:-3] if lower.endswith(".gz") else lower).suffix
    if suffix in NOT_TABLE_SUFFIXES:
        return False
    stem = lower.split(".", 1)[0]
    return stem not in NOT_TABLE_STEMS


def table_members(path: str | Path, *, deep: bool = False) -> list[zipfile.ZipInfo]:
    """The members of the zip at ``path`` that could be data tables, in archive order: at the
    top or one folder down, or (``deep``) only those deeper than that.

    Raises :class:`FormatError` when the file is not a readable zip archive.
    """
    try:
        with zipfile.ZipFile(path) as archive:
            infos = archive.infolist()
    except (zipfile.BadZipFile, OSError) as exc:
        raise FormatError(f"the zip archive is damaged ({exc})", path=path) from exc
    infos = [i for i in infos if not i.is_dir()]
    if deep:
        return [i for i in infos if _is_table_name(i.filename, None)
                and not _is_table_name(i.filename)]  # fmt: skip
    return [i for i in infos if _is_table_name(i.filename)]


def _deep_movielens(path: Path, info: zipfile.ZipInfo) -> bool:
    """Whether a member too deep to be looked at is a MovieLens key file (u.data, ratings.dat,
    a ratings.csv with movieId): the MovieLens loader speaks of those."""
    name = PurePosixPath(info.filename).name
    return name in KEY_FILES.values() and is_movielens_file(Source.zip_member(path, info))


def deep_tables(path: str | Path, *, movielens: bool = False) -> list[str]:
    """Names of the tables of a zip found only deeper than one folder (``a/b/clicks.csv``):
    other tables, or (``movielens``) MovieLens key files. Never raises (``[]``)."""
    p = Path(path)
    try:
        if not _is_zip(p) or not zipfile.is_zipfile(p):
            return []
        deep = table_members(p, deep=True)
        return [i.filename for i in deep if _deep_movielens(p, i) is movielens]
    except (DatasetError, OSError):
        return []


def movielens_layout(path: str | Path) -> MovieLensLayout | None:
    """The MovieLens layout of a folder or zip, ``None`` without one: like
    :func:`~.mllayout.find_layout`, except that a ``ratings.csv`` whose header has no
    ``movieId`` (goodbooks-10k) is not MovieLens. Raises what ``find_layout`` raises."""
    layout = find_layout(path)
    if layout is not None and layout.kind == "csv":
        key = layout.files.get("ratings.csv")
        if key is not None and not is_movielens_file(key):
            return None
    return layout


def _is_zip(path: Path) -> bool:
    return path.suffix.lower() == ".zip" and path.is_file()


def zip_holds_table(path: str | Path) -> bool:
    """Whether ``path`` is a ``.zip`` without a MovieLens layout that holds at least one data
    table, at any depth (then :func:`table_source` reads it, or says there are several, or that
    it is too deep). Never raises: a damaged zip gives ``False``, for the MovieLens loader to
    report as before."""
    p = Path(path)
    try:
        if not _is_zip(p) or not zipfile.is_zipfile(p):
            return False
        if movielens_layout(p) is not None:
            return False
        return bool(table_members(p)) or bool(deep_tables(p))
    except (DatasetError, OSError):
        return False


def _several(path: Path, members: list[zipfile.ZipInfo]) -> FormatError:
    names = [m.filename for m in members]
    more = f" and {len(names) - _SHOWN} more" if len(names) > _SHOWN else ""
    return FormatError(
        f"the zip archive holds {len(names)} tables and no MovieLens layout: "
        + ", ".join(names[:_SHOWN])
        + more,
        path=path,
        hint="unzip it and choose one of these files",
    )


def zip_table_source(path: str | Path) -> Source:
    """The :class:`Source` of the one data table inside the zip at ``path``.

    Raises :class:`FormatError` (naming the zip) when it is not a valid zip archive, holds a
    MovieLens release (to be loaded as a dataset, not a table), several tables (listed) or none.
    """
    p = Path(path)
    if not zipfile.is_zipfile(p):
        Source.file(p)  # missing, a folder, a FIFO, unreadable: the usual message
        raise FormatError("not a valid zip archive", path=p)
    layout = movielens_layout(p)
    if layout is not None:
        raise FormatError(
            f"this zip archive holds {layout.describe()}, not a single table",
            path=p,
            hint="load it as a dataset, without a column mapping",
        )
    members = table_members(p)
    if not members and (names := deep_tables(p)):
        more = f" and {len(names) - _SHOWN} more" if len(names) > _SHOWN else ""
        raise FormatError(
            f"the zip archive holds {'a table' if len(names) == 1 else 'tables'} deeper than "
            f"one folder ({', '.join(names[:_SHOWN])}{more}); tables are looked for only at the "
            "top of a zip or one folder down",
            path=p,
            hint="unzip it and give the file",
        )
    if not members:
        raise FormatError(
            f"the zip archive holds no data table and no MovieLens layout (expected a table, "
            f"or {EXPECTED})",
            path=p,
            hint=_listing(p),
        )
    if len(members) > 1:
        raise _several(p, members)
    return Source.zip_member(p, members[0])


def table_source(path: str | Path | Source) -> Source:
    """Where a table's bytes are: a :class:`Source` as given, the one table inside a ``.zip``
    (:func:`zip_table_source`), else the file itself (:meth:`Source.file`, which raises
    :class:`FormatError` for a missing file, a folder, a FIFO or a device)."""
    if isinstance(path, Source):
        return path
    p = Path(path)
    if _is_zip(p):
        return zip_table_source(p)
    return Source.file(p)
