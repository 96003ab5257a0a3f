"""One entry point for every data source, used alike by the app, the CLI and saved runs.

A source is a :class:`DatasetSpec`, or a string that parses into one:

* ``movielens-small`` / ``builtin:movielens-small``: a built-in dataset;
* ``synthetic`` / ``synthetic:n_users=300,seed=1``: generated data with a known truth;
* a folder or ``.zip``: MovieLens, layout auto-detected;
* a ``.zip`` holding one table (and no MovieLens layout): that table, as if it were unzipped;
* a ratings file (CSV, TSV, text, ``.gz``, JSON lines, Parquet): columns from a
  :class:`ColumnMapping`, or guessed from the header (no rating column: implicit feedback);
* a Netflix-prize block file (``1:`` then ``user,rating,date`` lines), detected from its content.

A spec may fix the rating ``scale`` (instead of inferring it) and the ``escape`` character of
quoted fields (Book-Crossing writes ``\\"``).
"""

from __future__ import annotations

import zipfile
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa

from .builtin import BUILTINS, load_builtin
from .dataset import RatingScale, RatingsDataset
from .errors import ColumnError, DatasetError, FormatError
from .mapping import ColumnMapping, guess_mapping
from .movielens import EXPECTED, KEY_FILES, find_layout, is_movielens_file, load_movielens
from .netflix import load_netflix
from .sniff import delimiter_name, sniff_format
from .source import decode_sample
from .synthetic import SyntheticConfig, make_synthetic
from .table import load_table, open_table
from .ziptable import table_source, zip_holds_table

KINDS = ("builtin", "movielens", "table", "synthetic")


@dataclass
class DatasetSpec:
    """What to load: a built-in name, a MovieLens folder/zip, a table + mapping, or a synthetic
    config. ``to_dict``/``from_dict`` store it in run configs so a run can reload its data."""

    kind: str
    path: str | None = None
    name: str | None = None
    mapping: ColumnMapping | None = None
    synthetic: SyntheticConfig | None = None
    scale: RatingScale | None = None  # fixes the scale (else the format's, or inferred)
    escape: str | None = None  # escape character inside quoted fields (tables only)

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise DatasetError(
                f"unknown dataset kind '{self.kind}'", hint="one of " + ", ".join(KINDS)
            )
        if self.scale is not None and not isinstance(self.scale, RatingScale):
            self.scale = RatingScale.parse(self.scale)

    @classmethod
    def parse(
        cls,
        text: str | Path,
        mapping: ColumnMapping | None = None,
        *,
        scale: RatingScale | str | None = None,
        escape: str | None = None,
    ) -> DatasetSpec:
        """Parse a source string (see the module docstring). Paths must exist.

        ``scale`` ('-10:10:0.05' or a :class:`RatingScale`) and ``escape`` are stored in the spec.
        """
        spec = cls._parse(text, mapping)
        if scale is not None:
            spec.scale = RatingScale.parse(scale)
        if escape:
            spec.escape = escape
        return spec

    @classmethod
    def _parse(cls, text: str | Path, mapping: ColumnMapping | None = None) -> DatasetSpec:
        if isinstance(text, Path):
            return cls._from_path(text, mapping)
        s = str(text).strip()
        if s in BUILTINS or s.startswith("builtin:"):
            name = s.split(":", 1)[1] if s.startswith("builtin:") else s
            if name not in BUILTINS:
                raise DatasetError(
                    f"unknown built-in dataset '{name}'",
                    hint="choose one of: " + ", ".join(BUILTINS),
                )
            return cls("builtin", name=name)
        if s == "synthetic" or s.startswith("synthetic:"):
            return cls("synthetic", synthetic=parse_synthetic(s.partition(":")[2]))
        if not s:
            raise DatasetError("no dataset given")
        return cls._from_path(Path(s).expanduser(), mapping)

    @classmethod
    def _from_path(cls, path: Path, mapping: ColumnMapping | None) -> DatasetSpec:
        if not path.exists():
            hint = "built-in datasets: " + ", ".join(BUILTINS) + "; or 'synthetic'"
            raise FormatError("file or folder not found", path=path, hint=hint)
        if zip_holds_table(path):
            return cls("table", path=str(path), mapping=mapping)
        if path.is_dir() or path.suffix.lower() == ".zip":
            return cls("movielens", path=str(path))
        if mapping is None and path.name in KEY_FILES.values() and is_movielens_file(path):
            # The key file of a MovieLens folder was chosen: load the whole folder.
            layout = find_layout(path.parent)
            if layout is not None and KEY_FILES[layout.kind] == path.name and not layout.subfolder:
                return cls("movielens", path=str(path.parent))
        return cls("table", path=str(path), mapping=mapping)

    def to_string(self) -> str:
        """The shortest string that parses back to this spec (a mapping is not included)."""
        if self.kind == "builtin":
            return f"builtin:{self.name}"
        if self.kind == "synthetic":
            return synthetic_string(self.synthetic or SyntheticConfig())
        return str(self.path)

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "path": self.path,
            "name": self.name,
            "mapping": self.mapping.to_dict() if self.mapping else None,
            "synthetic": self.synthetic.to_dict() if self.synthetic else None,
            "scale": self.scale.to_dict() if self.scale else None,
            "escape": self.escape,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> DatasetSpec:
        return cls(
            kind=data["kind"],
            path=data.get("path"),
            name=data.get("name"),
            mapping=ColumnMapping.from_dict(data["mapping"]) if data.get("mapping") else None,
            synthetic=SyntheticConfig.from_dict(data["synthetic"])
            if data.get("synthetic")
            else None,
            scale=_scale_from(data.get("scale")),
            escape=data.get("escape") or None,
        )


def _scale_from(value: Any) -> RatingScale | None:
    """A stored scale: {'min', 'max', 'step'} or 'min:max:step'; DatasetError when malformed."""
    if not value:
        return None
    if isinstance(value, dict):
        try:
            value = f"{float(value['min'])}:{float(value['max'])}:{float(value.get('step', 1.0))}"
        except (KeyError, TypeError, ValueError) as exc:
            raise DatasetError(f"stored rating scale {value!r} is malformed") from exc
    return RatingScale.parse(str(value))


# --------------------------------------------------------------------------- synthetic strings
_SCALE_KEYS = {"min_rating": "min", "max_rating": "max", "rating_step": "step"}
_RANGE_KEYS = {"min_ratings": 0, "max_ratings": 1}


def parse_synthetic(text: str) -> SyntheticConfig:
    """'n_users=300,seed=1' -> SyntheticConfig. Also ratings_per_user=20-120, min_rating=0.5,
    max_rating=5, rating_step=0.5, min_ratings / max_ratings."""
    config = SyntheticConfig()
    kinds = {f.name: f for f in fields(SyntheticConfig)}
    values: dict[str, Any] = {}
    scale = config.scale.to_dict()
    per_user = list(config.ratings_per_user)
    valid = sorted([*(k for k in kinds if k != "scale"), *_SCALE_KEYS, *_RANGE_KEYS])
    for part in filter(None, (p.strip() for p in text.split(","))):
        key, sep, raw = part.partition("=")
        key, raw = key.strip(), raw.strip()
        if not sep or not raw:
            raise DatasetError(f"synthetic setting '{part}' should look like name=value")
        try:
            if key in _SCALE_KEYS:
                scale[_SCALE_KEYS[key]] = float(raw)
            elif key in _RANGE_KEYS:
                per_user[_RANGE_KEYS[key]] = int(raw)
            elif key == "ratings_per_user":
                lo, hi = raw.replace("..", "-").replace(":", "-").split("-")
                per_user = [int(lo), int(hi)]
            elif key == "cluster_as_feature":
                if raw.lower() not in ("1", "0", "true", "false", "yes", "no"):
                    raise ValueError(raw)
                values[key] = raw.lower() in ("1", "true", "yes")
            elif key in kinds and key != "scale":
                values[key] = int(raw) if kinds[key].type in ("int", int) else float(raw)
            else:
                raise DatasetError(
                    f"unknown synthetic setting '{key}'", hint="valid: " + ", ".join(valid)
                )
        except DatasetError:
            raise
        except ValueError as exc:  # int()/float() of a malformed value
            raise DatasetError(f"synthetic setting '{part}': '{raw}' is not a valid value") from exc
    values["scale"] = RatingScale(**scale)
    values["ratings_per_user"] = (per_user[0], per_user[1])
    config = SyntheticConfig(**values)
    config.validate()
    return config


def synthetic_string(config: SyntheticConfig) -> str:
    """The 'synthetic:...' string of a config, listing only settings that differ from defaults."""
    default = SyntheticConfig()
    parts = []
    for f in fields(SyntheticConfig):
        value, base = getattr(config, f.name), getattr(default, f.name)
        if value == base:
            continue
        if f.name == "scale":
            for key, attr in _SCALE_KEYS.items():
                if getattr(value, attr) != getattr(base, attr):
                    parts.append(f"{key}={getattr(value, attr):g}")
        elif f.name == "ratings_per_user":
            parts.append(f"ratings_per_user={value[0]}-{value[1]}")
        elif isinstance(value, bool):
            parts.append(f"{f.name}={'true' if value else 'false'}")
        else:
            parts.append(f"{f.name}={value:g}" if isinstance(value, float) else f"{f.name}={value}")
    return "synthetic" + (":" + ",".join(parts) if parts else "")


# --------------------------------------------------------------------------- loading
def load_dataset(
    spec_or_string: DatasetSpec | str | Path,
    mapping: ColumnMapping | None = None,
    *,
    scale: RatingScale | str | None = None,
    escape: str | None = None,
) -> RatingsDataset:
    """Load any source; every failure is a :class:`DatasetError` that names the file.

    ``scale`` ('-10:10:0.05' or a :class:`RatingScale`) fixes the rating scale instead of the
    format's or the inferred one; ``escape`` is the escape character of quoted fields.
    """
    spec = (
        spec_or_string
        if isinstance(spec_or_string, DatasetSpec)
        else DatasetSpec.parse(spec_or_string, mapping)
    )
    if scale is not None or escape:
        spec = replace(
            spec,
            scale=RatingScale.parse(scale) if scale is not None else spec.scale,
            escape=escape or spec.escape,
        )
    try:
        return _load(spec, mapping)
    except DatasetError:
        raise
    except (
        OSError,
        UnicodeError,
        zipfile.BadZipFile,
        pd.errors.ParserError,
        pa.ArrowException,
        NotImplementedError,
        MemoryError,
    ) as exc:
        # A read problem a loader did not anticipate: still a message, not a traceback.
        raise FormatError(f"cannot read the data ({exc})", path=spec.path) from exc
    except (ValueError, TypeError, OverflowError) as exc:  # e.g. a date pandas cannot hold
        raise FormatError(
            f"cannot read the data ({type(exc).__name__}: {str(exc)[:200]})", path=spec.path
        ) from exc


def _load(spec: DatasetSpec, mapping: ColumnMapping | None) -> RatingsDataset:
    if spec.kind == "builtin":
        return load_builtin(spec.name or "movielens-small")
    if spec.kind == "synthetic":
        config = spec.synthetic or SyntheticConfig()
        dataset = make_synthetic(config)
        dataset.source = synthetic_string(config)
        return dataset
    if spec.path is None:
        raise DatasetError(f"a '{spec.kind}' dataset needs a path")
    if spec.kind == "movielens" and not zip_holds_table(spec.path):
        return load_movielens(spec.path, scale=spec.scale)
    mapping = mapping or spec.mapping
    if mapping is None and _is_netflix(spec.path):
        return load_netflix(spec.path, name=spec.name, scale=spec.scale)
    if mapping is None:
        table = open_table(spec.path, escape=spec.escape)
        mapping = guess_mapping(table.columns)
        if mapping is None:
            shown = ", ".join(f"'{c}'" for c in table.columns)
            raise ColumnError(
                f"cannot tell which columns hold the user and the item; the file has "
                f"columns {shown}",
                path=table.src.shown,
                hint="give a column mapping: user, item, and optionally rating (none: implicit "
                "feedback) and timestamp",
            )
        mapping = replace(mapping, escape=spec.escape)
    elif spec.escape and not mapping.escape:
        mapping = replace(mapping, escape=spec.escape)
    return load_table(spec.path, mapping, name=spec.name, scale=spec.scale)


def _is_netflix(path: str) -> bool:
    src = table_source(path)
    if src.size == 0:
        return False
    text, _ = decode_sample(src)
    return sniff_format(text, src.suffix) == "netflix"


def describe_source(path: str | Path) -> str:
    """A one-line description of what a path (or source string) holds, for the app to show."""
    s = str(path).strip()
    if s in BUILTINS or s.startswith("builtin:"):
        info = BUILTINS.get(s.split(":", 1)[-1])
        return f"Built-in: {info.title}" if info else f"Unknown built-in dataset '{s}'"
    if s == "synthetic" or s.startswith("synthetic:"):
        try:
            cfg = parse_synthetic(s.partition(":")[2])
        except DatasetError as exc:
            return f"Synthetic, invalid settings: {exc.problem}"
        return (
            f"Synthetic ({cfg.n_users} users, {cfg.n_items} items, {cfg.n_clusters} taste clusters)"
        )
    p = Path(s).expanduser()
    if not p.exists():
        return "Not found"
    try:
        if (p.is_dir() or p.suffix.lower() == ".zip") and not zip_holds_table(p):
            layout = find_layout(p)
            what = "Folder" if p.is_dir() else "Zip archive"
            return (
                layout.describe()
                if layout
                else f"{what} without MovieLens files (expected {EXPECTED})"
            )
        if p.name in KEY_FILES.values() and is_movielens_file(p):
            layout = find_layout(p.parent)
            if layout is not None and KEY_FILES[layout.kind] == p.name and not layout.subfolder:
                return layout.describe()
        if _is_netflix(str(p)):
            return "Netflix-prize blocks (a movie line '1:' then user,rating,date lines)"
        table = open_table(p)
    except DatasetError as exc:
        return f"Cannot use: {exc.problem}"
    columns = ", ".join(table.columns[:8]) + (", ..." if len(table.columns) > 8 else "")
    if table.kind == "parquet":
        kind = "Parquet table"
    elif table.kind in ("jsonl", "json"):
        kind = "JSON lines" if table.kind == "jsonl" else "JSON array"
    else:
        assert table.spec is not None
        header = "" if table.spec.has_header else ", no header"
        kind = f"{delimiter_name(table.spec.delimiter).capitalize()}-separated table{header}"
    if table.src.gzip:
        kind += ", gzip-compressed"
    if table.src.member is not None:
        kind += f", {table.src.member} in the zip archive"
    guessed = guess_mapping(table.columns)
    tail = ""
    if guessed is not None:
        tail = "; " + ", ".join(f"{role}={col}" for role, col in guessed.roles().items())
        if guessed.implicit:
            tail += "; no rating column: implicit feedback"
    return f"{kind} (columns: {columns}{tail})"
