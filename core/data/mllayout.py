"""Where a MovieLens release is: which layout (100K, 1M/10M, CSV family) a folder or .zip holds,
including the usual single sub-folder (``ml-1m.zip`` holds ``ml-1m/ratings.dat``)."""

from __future__ import annotations

import os
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from .dataset import RatingScale
from .errors import DatasetError, FormatError
from .sniff import header_names
from .source import Source, decode_sample

KEY_FILES = {"100k": "u.data", "1m": "ratings.dat", "csv": "ratings.csv"}
SIDE_FILES = {
    "100k": ("u.item", "u.user", "u.genre"),
    "1m": ("movies.dat", "users.dat"),
    "csv": ("movies.csv",),
}
EXPECTED = "u.data (MovieLens 100K), ratings.dat (1M/10M) or ratings.csv (latest, 20M, 25M)"


@dataclass
class MovieLensLayout:
    """Which MovieLens layout a folder/zip holds and where its files are."""

    kind: str  # '100k' | '1m' | 'csv'
    root: Path  # what the user chose: a folder or a .zip
    files: dict[str, Source]  # file name -> source, for the files of this layout present
    subfolder: str = ""  # where inside root ('' = at the top)

    @property
    def title(self) -> str:
        if self.kind == "100k":
            return "MovieLens 100K"
        if self.kind == "1m":
            # ML-10M has the same '::' files but half-star ratings and no users.dat.
            return "MovieLens 1M" if "users.dat" in self.files else "MovieLens 10M"
        return f"MovieLens ({self.subfolder or self.root.stem})"

    @property
    def scale(self) -> RatingScale:
        if self.kind == "100k" or (self.kind == "1m" and "users.dat" in self.files):
            return RatingScale(1.0, 5.0, 1.0)
        return RatingScale(0.5, 5.0, 0.5)

    def describe(self) -> str:
        """E.g. 'MovieLens 1M (ratings.dat, movies.dat, users.dat)'."""
        names = [KEY_FILES[self.kind]] + [f for f in SIDE_FILES[self.kind] if f in self.files]
        return f"{self.title} ({', '.join(names)})"


def _layout_in(names: set[str]) -> str | None:
    for kind, key in KEY_FILES.items():
        if key in names:
            return kind
    return None


def _relevant(kind: str) -> tuple[str, ...]:
    return (KEY_FILES[kind], *SIDE_FILES[kind])


def _file_names(folder: Path) -> set[str]:
    try:
        with os.scandir(folder) as entries:
            return {e.name for e in entries if e.is_file()}
    except OSError:
        return set()  # an unreadable sub-folder is simply not a dataset


def find_layout(path: str | Path) -> MovieLensLayout | None:
    """The MovieLens layout at ``path`` (folder or zip, files at the top or one folder down).

    ``None`` when no layout is recognised; :class:`FormatError` when the path is missing, the zip
    is damaged, or several sub-folders hold a dataset (ambiguous).
    """
    root = Path(path)
    if not root.exists():
        raise FormatError("file or folder not found", path=root)
    # where ('' = top, else a sub-folder name) -> file name -> how to make its Source
    groups: dict[str, dict[str, Callable[[], Source]]] = {}
    if root.is_dir():
        folders = [root]
        try:
            folders += sorted(p for p in root.iterdir() if p.is_dir())
        except OSError as exc:
            raise FormatError(f"cannot list the folder ({exc})", path=root) from exc
        for folder in folders:
            where = "" if folder == root else folder.name
            groups[where] = {
                name: (lambda p=folder / name: Source.file(p)) for name in _file_names(folder)
            }
    elif zipfile.is_zipfile(root):
        try:
            with zipfile.ZipFile(root) as archive:
                infos = archive.infolist()
        except (zipfile.BadZipFile, OSError) as exc:
            raise FormatError(f"the zip archive is damaged ({exc})", path=root) from exc
        for info in infos:
            parts = PurePosixPath(info.filename).parts
            if info.is_dir() or len(parts) > 2 or parts[0] == "__MACOSX":
                continue
            where = parts[0] if len(parts) == 2 else ""
            groups.setdefault(where, {})[parts[-1]] = lambda i=info: Source.zip_member(root, i)
    else:
        if root.suffix.lower() == ".zip":
            raise FormatError("not a valid zip archive", path=root)
        return None
    found = [(w, _layout_in(set(files))) for w, files in groups.items()]
    found = [(w, k) for w, k in found if k is not None]
    top = [(w, k) for w, k in found if w == ""]
    if not top and len(found) > 1:
        raise FormatError(
            "holds several MovieLens datasets: " + ", ".join(w for w, _ in found),
            path=root,
            hint="choose one of these folders",
        )
    if not found:
        return None
    where, kind = (top or found)[0]
    assert kind is not None
    files = {name: make() for name, make in groups[where].items() if name in _relevant(kind)}
    return MovieLensLayout(kind, root, files, where)


def detect_movielens(path: str | Path) -> str | None:
    """'100k' | '1m' | 'csv' for a MovieLens folder or zip; ``None`` otherwise (never raises)."""
    try:
        layout = find_layout(path)
    except (FormatError, OSError):
        return None
    return layout.kind if layout else None


def _listing(path: Path) -> str:
    try:
        if path.is_dir():
            names = sorted(p.name + ("/" if p.is_dir() else "") for p in path.iterdir())
        else:
            with zipfile.ZipFile(path) as archive:
                names = sorted(archive.namelist())
    except (OSError, zipfile.BadZipFile):
        return "its contents cannot be listed"
    if not names:
        return "it is empty"
    more = f" and {len(names) - 12} more" if len(names) > 12 else ""
    return "it contains " + ", ".join(names[:12]) + more


def _csv_header(src: Source) -> tuple[list[str], str]:
    text, encoding = decode_sample(src)
    return header_names(text, ",", True), encoding


def is_movielens_file(path: str | Path | Source) -> bool:
    """Whether a key file (u.data, ratings.dat, ratings.csv; on disk or a zip member) is
    MovieLens-shaped: for ratings.csv, its header names movieId (goodbooks' ratings.csv does
    not). A file that cannot be read counts as MovieLens, for its loader to give the message."""
    if isinstance(path, Source):
        src: Source | None = path
        name = path.name
    else:
        src, name = None, Path(path).name
    if name != KEY_FILES["csv"]:
        return True
    try:
        columns, _ = _csv_header(src if src is not None else Source.file(path))
    except DatasetError:
        return True  # let the MovieLens loader give its message
    return any("movieId" in c for c in columns)


def describe_layout(path: str | Path) -> str | None:
    """'MovieLens 1M (ratings.dat, movies.dat, users.dat)' or ``None`` if not MovieLens."""
    try:
        layout = find_layout(path)
    except (FormatError, OSError):
        return None
    return layout.describe() if layout else None
