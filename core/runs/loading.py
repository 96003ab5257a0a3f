"""Finding runs and using them again: the runs of a workspace, and a run's split and algorithm
rebuilt on a dataset (which must be the one it was trained on).
"""

from __future__ import annotations

import logging
import re
from pathlib import Path
from typing import TYPE_CHECKING

from ..run_schema import RunError
from .folder import Run

if TYPE_CHECKING:
    from ..algorithms import Algorithm
    from ..data import RatingsDataset
    from ..split import ColdStartSplit

log = logging.getLogger("core.runs")  # the package's one logger, named as before the split


def list_runs(root: str | Path, include_broken: bool = True) -> list[Run]:
    """Run folders directly under ``root`` (newest first). Never raises for a bad folder.

    A folder counts as a run when it holds a config.json; runs whose metadata is refused are
    included (``run.broken`` says why, ``run.status == "broken"``) unless ``include_broken`` is
    False. Stale temporary files of interrupted writes are removed on the way."""
    root = Path(root)
    try:
        entries = list(root.iterdir())
    except OSError:
        return []
    runs: list[tuple[float, Run]] = []
    for folder in entries:
        try:
            if not (folder / "config.json").is_file():
                continue
            mtime = (folder / "config.json").stat().st_mtime
        except OSError:
            continue
        run = Run(folder)
        try:
            run.clean_stale_temp_files()
        except Exception as exc:  # noqa: BLE001 - listing must not fail on cleaning
            log.warning("could not clean %s: %s", folder, exc)
        if not include_broken and run.broken is not None:
            continue
        runs.append((mtime, run))
    runs.sort(key=lambda pair: pair[0], reverse=True)
    return [run for _, run in runs]


def check_dataset(run: Run, dataset: RatingsDataset) -> None:
    """Refuse a run trained on another dataset, saying which one it expects."""
    data = run.config.get("dataset") or {}  # no record (hand-made runs): nothing to compare
    expected = data.get("fingerprint")
    if expected and expected != dataset.fingerprint:
        raise RunError(
            f"run '{run.name}' was trained on '{data.get('name')}' "
            f"(fingerprint {expected}), but the loaded dataset is '{dataset.name}' "
            f"(fingerprint {dataset.fingerprint}); load the same dataset to use this run"
        )


def run_split(run: Run, dataset: RatingsDataset) -> ColdStartSplit:
    """The cold-start split a run was trained with (its test users never reached training)."""
    from ..split import SplitConfig, make_split

    return make_split(dataset, SplitConfig(**(run.config.get("split") or {})))


def load_algorithm(run: Run | str | Path, dataset: RatingsDataset,
                   device: str = "cpu") -> Algorithm:
    """Rebuild a run's algorithm with its weights, on ``dataset`` (which must match)."""
    from ..algorithms import ALGORITHMS, create_algorithm
    from ..config import ConfigError

    run = run if isinstance(run, Run) else Run.open(run)
    check_dataset(run, dataset)
    cfg = run.config
    file = run.path / "config.json"
    if cfg["algorithm"] not in ALGORITHMS:
        raise RunError(f"{file}: field 'algorithm': unknown algorithm '{cfg['algorithm']}' "
                       f"(this version knows {', '.join(ALGORITHMS)})")
    try:
        algorithm = create_algorithm(
            cfg["algorithm"], overrides=cfg.get("hyperparameters", {}), dataset=dataset, device=device
        )
    except ConfigError as exc:
        found = re.search(r"setting '(\w+)'", str(exc))
        field = f"hyperparameters.{found.group(1)}" if found else "hyperparameters"
        raise RunError(f"{file}: field '{field}': {exc}") from None
    state = run.load_weights()
    try:
        algorithm.load_state_dict(state)
    except (KeyError, RuntimeError, ValueError, TypeError, IndexError) as exc:
        raise RunError(f"{run.weights_path}: weights do not fit this algorithm ({exc})") from None
    return algorithm
