"""Item and user side information as index arrays (never a dense one-hot row per interaction)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

NO_GENRE = "(no genres listed)"
YEAR_EDGES = np.arange(1920, 2030, 5)  # 5-year buckets; bucket 0 = unknown year


@dataclass
class ItemFeatures:
    """Item side information as indices: genres in CSR form and a year bucket per item."""

    genre_names: list[str]
    genre_offsets: np.ndarray  # int64 [n_items + 1]
    genre_index: np.ndarray  # int32 [nnz], ids into genre_names
    year: np.ndarray  # float32 [n_items], NaN where unknown
    year_bucket: np.ndarray  # int64 [n_items], 0 = unknown

    @property
    def n_genres(self) -> int:
        return len(self.genre_names)

    @property
    def n_year_buckets(self) -> int:
        return len(YEAR_EDGES) + 2

    def padded_genres(self) -> np.ndarray:
        """[n_items, max_genres] genre ids shifted by one, 0 = padding (for EmbeddingBag/sums)."""
        counts = np.diff(self.genre_offsets)
        width = max(1, int(counts.max()) if len(counts) else 1)
        out = np.zeros((len(counts), width), dtype=np.int64)
        rows = np.repeat(np.arange(len(counts)), counts)
        cols = np.arange(len(self.genre_index)) - np.repeat(self.genre_offsets[:-1], counts)
        out[rows, cols] = self.genre_index.astype(np.int64) + 1
        return out

    def genres_of(self, item: int) -> list[str]:
        lo, hi = self.genre_offsets[item], self.genre_offsets[item + 1]
        return [self.genre_names[g] for g in self.genre_index[lo:hi]]


@dataclass
class UserFeatures:
    """Categorical user attributes (age bucket, gender, occupation, ...) as integer codes.

    Code 0 of every field means "unknown" (a user missing from the user table, an empty value, a
    new user who gave nothing): models size each field's embedding ``len(vocab) + 1``.
    Numeric fields with many values (ages in ML-100K) are bucketed; ``edges[f]`` holds the bucket
    edges (code ``1 + searchsorted(edges, value, 'right')``), ``None`` for categorical fields.
    """

    fields: list[str]
    codes: np.ndarray  # int64 [n_users, n_fields], 0 = unknown
    vocab: list[list[str]]  # per field, the label of code 1, 2, ...
    edges: list[np.ndarray | None] = field(default_factory=list)

    @property
    def cardinalities(self) -> list[int]:
        return [len(v) + 1 for v in self.vocab]

    def encode(self, values: dict[str, Any] | None) -> np.ndarray:
        """int64 [n_fields] codes of one (new) user's raw values; unknown/missing/unseen -> 0.

        A categorical value matches a label exactly (then case-insensitively, then as a number:
        ``25`` matches ``'25'``); a bucketed numeric field takes a number (or a bucket label).
        """
        out = np.zeros(len(self.fields), dtype=np.int64)
        for f, name in enumerate(self.fields):
            value = (values or {}).get(name)
            if value is None or (isinstance(value, float) and np.isnan(value)):
                continue
            out[f] = self._code(f, value)
        return out

    def _code(self, f: int, value: Any) -> int:
        labels = self.vocab[f]
        text = str(value).strip()
        if text in labels:
            return labels.index(text) + 1
        edges = self.edges[f] if f < len(self.edges) else None
        if edges is not None:
            try:
                number = float(text)
            except ValueError:
                return 0
            if not np.isfinite(number):
                return 0
            return int(np.searchsorted(edges, number, side="right")) + 1
        lower = [label.lower() for label in labels]
        if text.lower() in lower:
            return lower.index(text.lower()) + 1
        try:
            number = float(text)
        except ValueError:
            return 0
        for i, label in enumerate(labels):
            try:
                if float(label) == number:
                    return i + 1
            except ValueError:
                continue
        return 0

    def allowed_values(self) -> dict[str, list[str]]:
        """Per field, the raw values a user can choose (code 1, 2, ... in order; '' = unknown)."""
        return {name: list(labels) for name, labels in zip(self.fields, self.vocab, strict=True)}
