"""A new user's own features (``--user-feature gender=F``) and ``KEY=VALUE`` options: parsed,
checked against the dataset's user-feature fields and turned into codes for a task batch.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from ..data import RatingsDataset

def parse_pairs(pairs: Iterable[str], option: str, key: str = "KEY") -> dict[str, str]:
    """``['a=1', 'b = 2']`` -> {'a': '1', 'b': '2'}; raises ValueError naming ``option`` for an
    item without ``=`` or with an empty key."""
    out: dict[str, str] = {}
    for pair in pairs:
        if "=" not in pair or not pair.split("=", 1)[0].strip():
            raise ValueError(f"{option} expects {key}=VALUE, got '{pair}'")
        name, value = pair.split("=", 1)
        out[name.strip()] = value.strip()
    return out


def parse_user_features(pairs: Iterable[str]) -> dict[str, str]:
    """``['gender=F', 'age=25']`` -> {'gender': 'F', 'age': '25'} (a clear error otherwise)."""
    return parse_pairs(pairs, "--user-feature", "FIELD")


def user_feature_codes(dataset: RatingsDataset, features: Mapping[str, str] | None) -> np.ndarray | None:
    """Codes of a new user's features for ``new_user_batch`` (0 = unknown), or None when the
    dataset has no user features. Unknown field names are an error naming the valid ones."""
    uf = getattr(dataset, "user_features", None)
    features = dict(features or {})
    if uf is None:
        if features:
            raise ValueError(
                f"this dataset has no user features; --user-feature {next(iter(features))}=... "
                "cannot be used"
            )
        return None
    unknown = [k for k in features if k not in uf.fields]
    if unknown:
        raise ValueError(f"unknown user feature(s) {', '.join(unknown)}; this dataset has "
                         f"{', '.join(uf.fields)}")
    encode = getattr(dataset, "encode_user_features", None)
    if encode is not None:
        codes = np.asarray(encode(features), dtype=np.int64).reshape(-1)
        unseen = [f"{k}={v}" for k, v in features.items() if codes[uf.fields.index(k)] == 0]
        if unseen:
            raise ValueError(
                f"user feature value(s) {', '.join(unseen)} never occur in this dataset; "
                + "; ".join(f"{k}: {', '.join(map(str, uf.vocab[uf.fields.index(k)][:12]))}"
                            for k in (u.split('=', 1)[0] for u in unseen))
                + " (leave a feature out to keep it unknown)")
        return codes
    codes = np.zeros(len(uf.fields), dtype=np.int64)
    for name, value in features.items():
        f = uf.fields.index(name)
        labels = [str(v) for v in uf.vocab[f]]
        if value not in labels:
            raise ValueError(f"user feature {name}='{value}' is not one of "
                             f"{', '.join(labels[:12])}{' ...' if len(labels) > 12 else ''}")
        codes[f] = labels.index(value) + 1
    return codes
