"""What the Train page's progress lines say: true at every moment (fitting, steps, early stop,
cancel), in plain words."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import QUrl

VALIDATION = (("val_recall20", "Recall@20"), ("val_ndcg20", "nDCG@20"), ("val_mae", "MAE"),
              ("val_rmse", "RMSE"), ("val_ndcg3", "nDCG@3"))
HIGHER_IS_BETTER = {"val_recall20", "val_ndcg20", "val_ndcg3"}


def fmt_duration(seconds: float) -> str:
    seconds = max(0, int(round(seconds)))
    h, rest = divmod(seconds, 3600)
    m, s = divmod(rest, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


def html(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


class ProgressText:
    """Progress and validation lines of one run."""

    def start(self, title: str, epochs: int, trainable: bool) -> None:
        self.title, self.epochs, self.trainable = title, epochs, trainable
        self.best: tuple[float, int, str] | None = None
        self.last_step = 0

    def steps(self, events: list) -> str:
        last = events[-1]
        self.last_step = last.step
        total = max(1, last.total_steps)
        tps = sum(e.tasks_per_s for e in events) / len(events)
        eta = last.elapsed / last.step * (total - last.step) if last.step else 0.0
        return (f"Epoch {last.epoch}/{self.epochs} · step {last.step:,}/{total:,} · "
                f"{tps:,.0f} tasks/s · elapsed {fmt_duration(last.elapsed)} · "
                f"ETA {fmt_duration(eta)}")

    def epoch(self, event: Any) -> str:
        m = event.metrics
        key = next((k for k in ("val_recall20", "val_mae") if k in m), None)
        if key is not None:
            value = m[key]
            better = (self.best is None or (value > self.best[0] if key in HIGHER_IS_BETTER
                                            else value < self.best[0]))
            if better:
                self.best = (value, event.epoch, dict(VALIDATION)[key])
        parts = [f"{label} {m[k]:.4f}" for k, label in VALIDATION if k in m]
        best = (f"  (best {self.best[2]} {self.best[0]:.4f} at epoch {self.best[1]})"
                if self.best else "")
        return f"Validation after epoch {event.epoch}: " + ", ".join(parts) + best

    def finished(self, event: Any, trainable: bool) -> str:
        s = event.summary or {}
        if not trainable:
            return "Fitted (closed form: no meta-training steps)." if event.status == "finished" \
                else f"{event.status.capitalize()}."
        if event.status == "cancelled":
            return f"Cancelled at step {s.get('steps', self.last_step):,}; the run keeps what " \
                   "was learned so far."
        epochs = s.get("epochs")
        early = isinstance(epochs, int) and epochs < self.epochs
        return (f"Finished: early stop after epoch {epochs} (no validation gain)."
                if early else "Finished.")


def result_html(event: Any) -> str:
    s = event.summary or {}
    words = [f"<b>{s.get('title', '')}</b> {event.status}"]
    if s.get("steps"):
        words[0] += f" after {s.get('steps', 0):,} steps"
    words[0] += f" in {fmt_duration(s.get('wall_time') or 0)}"
    test = s.get("test") or {}
    if isinstance(test, dict) and test:
        cells = []
        for k, m in test.items():
            if not isinstance(m, dict):
                continue
            shown = [f"{label} {m[key]:.3f}" for key, label in (
                ("recall20", "Recall@20"), ("ndcg20", "nDCG@20"), ("mae", "MAE"))
                if isinstance(m.get(key), (int, float))]
            cells.append(f"K={k}: " + ", ".join(shown))
        words.append("Test (cold users): " + "; ".join(cells))
    if event.run_dir:
        words.append(f"<a href='{QUrl.fromLocalFile(event.run_dir).toString()}'>"
                     f"{Path(event.run_dir).name}</a>")
    return " · ".join(words)
