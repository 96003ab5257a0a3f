"""Named cold-start user profiles (a new user's ratings), saved as JSON in the workspace."""

from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .data import RatingsDataset
from .runs import atomic_write_json


class ProfileError(ValueError):
    """A profile file is unreadable or belongs to another dataset."""


@dataclass
class Profile:
    """A user's ratings keyed by the dataset's raw item ids (stable across reloads)."""

    name: str
    dataset_fingerprint: str
    ratings: dict[Any, float] = field(default_factory=dict)
    dataset_name: str = ""
    updated: str = ""

    def dense_ratings(self, dataset: RatingsDataset) -> dict[int, float]:
        """Ratings keyed by dense item index; refuses a profile made on another dataset."""
        if self.dataset_fingerprint != dataset.fingerprint:
            raise ProfileError(
                f"profile '{self.name}' was made on '{self.dataset_name or 'another dataset'}', "
                f"not on the loaded '{dataset.name}'"
            )
        raw = list(self.ratings)
        index = dataset.item_index(raw)
        return {int(i): float(self.ratings[r]) for r, i in zip(raw, index, strict=True) if i >= 0}

    @classmethod
    def from_dense(cls, name: str, dataset: RatingsDataset, ratings: dict[int, float]) -> Profile:
        raw = {_plain(dataset.item_ids[i]): float(r) for i, r in ratings.items()}
        return cls(name, dataset.fingerprint, raw, dataset.name)


def _plain(value: Any) -> Any:
    return value.item() if hasattr(value, "item") else value


def _filename(name: str) -> str:
    slug = re.sub(r"[^A-Za-z0-9_.-]+", "_", name.strip()).strip("._") or "profile"
    return slug + ".json"


def save_profile(profile: Profile, folder: str | Path) -> Path:
    """Write atomically to ``folder/<name>.json`` and return the path."""
    profile.updated = time.strftime("%Y-%m-%dT%H:%M:%S")
    path = Path(folder) / _filename(profile.name)
    atomic_write_json(path, {
        "name": profile.name,
        "dataset_fingerprint": profile.dataset_fingerprint,
        "dataset_name": profile.dataset_name,
        "updated": profile.updated,
        "ratings": [[item, rating] for item, rating in profile.ratings.items()],
    })
    return path


def load_profile(path: str | Path) -> Profile:
    path = Path(path)
    try:
        data = json.loads(path.read_text())
        ratings = {item: float(r) for item, r in data["ratings"]}
        return Profile(data["name"], data["dataset_fingerprint"], ratings,
                       data.get("dataset_name", ""), data.get("updated", ""))
    except FileNotFoundError:
        raise ProfileError(f"{path}: no such profile") from None
    except (json.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
        raise ProfileError(f"{path}: not a MetaRec profile ({exc})") from None


def list_profiles(folder: str | Path) -> list[Path]:
    folder = Path(folder)
    return sorted(folder.glob("*.json")) if folder.is_dir() else []
