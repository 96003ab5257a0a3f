"""metrics.csv: one row per meta-step (kind=step) or validation (kind=epoch), appended whole
lines at a time by the writer and followed by readers while it grows (:class:`MetricsTail`).
"""

from __future__ import annotations

import csv
import io
import logging
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from .folder import Run

log = logging.getLogger("core.runs")  # the package's one logger, named as before the split

METRIC_COLUMNS = [
    "kind", "step", "epoch", "wall_time", "loss", "tasks_per_s",
    "val_mae", "val_rmse", "val_ndcg3",
    "val_recall10", "val_recall20", "val_ndcg10", "val_ndcg20",
    "val_base_recall20", "val_base_ndcg20",
]


def append_metric_rows(file: Path, rows: list[dict[str, Any]]) -> None:
    """Append ``rows`` (METRIC_COLUMNS keys; missing or None -> empty) to ``file`` in one write,
    so a watcher never sees a split row."""
    buf = io.StringIO()
    writer = csv.writer(buf)
    for row in rows:
        writer.writerow(["" if row.get(c) is None else row.get(c) for c in METRIC_COLUMNS])
    with open(file, "a", newline="") as f:
        f.write(buf.getvalue())
        f.flush()


_NAN_WORDS = {"nan", "-nan", "+nan", "inf", "-inf", "+inf", "infinity", "-infinity", "+infinity"}


def _parse_metric_lines(lines: list[str], columns: list[str]) -> tuple[pd.DataFrame, int]:
    """Complete lines -> (frame with METRIC_COLUMNS (+ extra header columns), bad line count)."""
    out_cols = list(METRIC_COLUMNS) + [c for c in columns if c not in METRIC_COLUMNS]
    n = len(columns)
    good, bad = [], 0
    for ln in lines:
        if not ln.strip():
            continue
        if "\x00" in ln or '"' in ln or "\ufffd" in ln or ln.count(",") >= n:
            bad += 1
            continue
        good.append(ln)
    if not good:
        return pd.DataFrame({c: pd.Series(dtype=object if c == "kind" else float) for c in out_cols}), bad
    raw = pd.read_csv(io.StringIO("\n".join(good) + "\n"), header=None, names=columns, dtype=str,
                      keep_default_na=False, quoting=csv.QUOTE_NONE, skip_blank_lines=True)
    raw = raw.fillna("")
    frame = pd.DataFrame(index=raw.index)
    kind = raw["kind"].str.strip() if "kind" in raw else pd.Series("", index=raw.index)
    ok = kind.isin(["step", "epoch"]).to_numpy().copy()
    frame["kind"] = kind
    for col in out_cols[1:]:
        if col not in raw:
            frame[col] = np.nan
            continue
        text = raw[col].str.strip()
        num = pd.to_numeric(text, errors="coerce")
        ok &= ((text == "") | num.notna() | text.str.lower().isin(_NAN_WORDS)).to_numpy()
        frame[col] = num.astype(float)
    step = frame["step"].to_numpy(float)
    with np.errstate(invalid="ignore"):
        ok &= np.isfinite(step) & (step >= 0)
    epoch = frame["epoch"].to_numpy(float)
    ok &= np.isnan(epoch) | (np.isfinite(epoch) & (epoch >= 0))
    bad += int((~ok).sum())
    frame = frame[ok].reset_index(drop=True)
    return frame[out_cols], bad


class MetricsTail:
    """Follow a run's metrics.csv as another process appends to it (``tail -f`` for runs).

    ``poll()`` returns only the complete rows written since the last call; a half-written last
    line waits for its newline, and a file that shrank (a run restarted in the same folder) is
    read again from the top. Lines that are not metrics rows (garbage, a wrong kind, a
    non-numeric value, a missing step) are skipped and counted: ``skipped_lines`` (total so
    far) and ``frame.attrs["skipped_lines"]`` (in this poll).
    """

    def __init__(self, run: Run) -> None:
        self.run = run
        self._offset = 0
        self._rest = ""
        self._header_seen = False
        self._columns: list[str] = list(METRIC_COLUMNS)
        self.skipped_lines = 0

    def poll(self) -> pd.DataFrame:
        file = self.run.path / "metrics.csv"
        try:
            size = file.stat().st_size
            if size < self._offset:
                self._offset, self._rest, self._header_seen = 0, "", False
                self.skipped_lines = 0
            with open(file, encoding="utf-8", errors="replace", newline="") as f:
                f.seek(self._offset)
                chunk = f.read()
                self._offset = f.tell()
        except OSError:
            frame = pd.DataFrame(columns=METRIC_COLUMNS)
            frame.attrs["skipped_lines"] = 0
            return frame
        text = self._rest + chunk
        cut = max(text.rfind("\n"), text.rfind("\r")) + 1
        self._rest = text[cut:]
        lines = text[:cut].splitlines()
        bad = 0
        if not self._header_seen and lines:
            head = lines[0].lstrip("\ufeff").strip().split(",")
            if head and head[0] == "kind" and all(re.fullmatch(r"\w+", c) for c in head):
                self._columns = head
            else:
                self._columns = list(METRIC_COLUMNS)
                bad += 1  # a damaged header: rows are read with the current columns
            lines = lines[1:]
            self._header_seen = True
        frame, skipped = _parse_metric_lines(lines, self._columns)
        bad += skipped
        if bad:
            self.skipped_lines += bad
            log.debug("%s: skipped %d line(s) that are not metrics rows", file, bad)
        frame.attrs["skipped_lines"] = bad
        return frame

