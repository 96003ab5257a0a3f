"""The rating scale of a dataset: smallest and largest rating and the step between values."""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from .errors import DatasetError


@dataclass(frozen=True)
class RatingScale:
    """The rating scale: smallest and largest rating and the step between allowed values."""

    min: float
    max: float
    step: float = 1.0

    @classmethod
    def infer(cls, ratings: np.ndarray) -> RatingScale:
        """Infer a scale from observed ratings (used when the source does not state one)."""
        values = np.unique(np.asarray(ratings, dtype=np.float64))
        lo, hi = float(values.min()), float(values.max())
        if len(values) < 2:
            return cls(lo, max(hi, lo + 1.0), 1.0)
        if hi - lo > 1e9:  # no grid to find (and the offsets below would overflow)
            return cls(lo, hi, 0.0)
        # The step is the largest grid every rating lies on: gcd of the offsets from the minimum.
        offsets = np.round((values - lo) * 1e6).astype(np.int64)
        step = float(np.gcd.reduce(offsets)) / 1e6
        if step >= 0.01:
            return cls(lo, hi, round(step, 6))
        return cls(lo, hi, 0.0)

    @classmethod
    def parse(cls, text: str | RatingScale) -> RatingScale:
        """'-10:10:0.05' (min:max:step), '1:5' (step 1), '0.5..5' -> a scale; step 0 = continuous.

        Raises :class:`DatasetError` for text that is not a scale (min must be below max).
        """
        if isinstance(text, RatingScale):
            return text
        raw = str(text).strip()
        parts = re.split(r"\s*(?::|\.\.|,|/)\s*", raw)
        if len(parts) == 1:  # '1-5' (but '-10-10' is ambiguous: use ':')
            m = re.fullmatch(r"(-?[\d.]+)\s*-\s*(-?[\d.]+)", raw)
            parts = [m.group(1), m.group(2)] if m else parts
        try:
            values = [float(p) for p in parts]
        except ValueError:
            values = []
        if len(values) not in (2, 3) or not all(np.isfinite(values)):
            raise DatasetError(
                f"'{raw}' is not a rating scale", hint="write min:max or min:max:step, e.g. -10:10:0.05"
            )
        lo, hi = values[0], values[1]
        step = values[2] if len(values) == 3 else 1.0
        if not lo < hi or step < 0 or step > hi - lo:
            raise DatasetError(
                f"'{raw}' is not a rating scale: need min < max and 0 <= step <= max - min"
            )
        return cls(lo, hi, step)

    def __str__(self) -> str:
        return f"{self.min:g}:{self.max:g}:{self.step:g}"

    def off_step(self, ratings: np.ndarray) -> np.ndarray:
        """Mask of ratings that are not ``min + k * step`` (all False on a continuous scale)."""
        if self.step <= 0:
            return np.zeros(len(ratings), dtype=bool)
        k = (np.asarray(ratings, dtype=np.float64) - self.min) / self.step
        return np.abs(k - np.round(k)) > 1e-6

    @property
    def span(self) -> float:
        return self.max - self.min

    def relevance_threshold(self) -> float:
        """Ratings at or above this are 'relevant': the top 30 % of the scale (>= 4 on 1-5)."""
        return self.min + 0.7 * self.span

    def values(self) -> list[float]:
        """Allowed rating values (for star widgets); a continuous scale gives 11 points."""
        if self.step <= 0:
            return list(np.linspace(self.min, self.max, 11))
        n = int(round(self.span / self.step)) + 1
        return [round(self.min + i * self.step, 6) for i in range(n)]

    def to_dict(self) -> dict[str, float]:
        return {"min": self.min, "max": self.max, "step": self.step}


IMPLICIT_SCALE = RatingScale(0.0, 1.0, 1.0)  # implicit feedback: every interaction is 1.0
