"""`metarec algorithms NAME`, the aligned and wrapped settings layout, and run labels (the
algorithm plus the settings that differ from its defaults) in `metarec compare`."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from core.algorithms import ALGORITHMS, algorithm_class
from core.cli import main
from core.cli.algorithm_help import HELP, ROW, settings_table
from core.runs import run_label
from core.runs.labels import LABEL_LIMIT, changed_settings, format_value
from core.training import TrainConfig

SYNTH = "synthetic:n_users=160,n_items=120,seed=4"
ROOT = Path(__file__).resolve().parents[1]


def blocks(text: str) -> dict[str, str]:
    """Top-level blocks of `metarec algorithms` output by their first word."""
    return {b.split()[0]: b for b in text.split("\n\n") if b.strip() and not b.startswith(" ")}


def table_rows(block: str, names: list[str]) -> dict[str, str]:
    """The row line of each setting in a block."""
    rows = {}
    for line in block.splitlines():
        if line.startswith(ROW) and not line.startswith(HELP):
            word = line.split()[0]
            if word in names:
                rows[word] = line
    return rows


# ------------------------------------------------------------------ algorithms NAME
def test_algorithms_name_shows_that_algorithm_in_full(monkeypatch, capsys):
    monkeypatch.setenv("COLUMNS", "100")
    assert main(["algorithms", "proto"]) == 0
    out = capsys.readouterr().out
    found = blocks(out)
    assert "proto" in found and not set(found) & (set(ALGORITHMS) - {"proto"})
    block = found["proto"]
    cls = algorithm_class("proto")
    flat = " ".join(block.split())
    assert " ".join(cls.description.split()) in flat  # the description, whole
    specs = cls.Config.field_specs()
    rows = table_rows(block, [s["name"] for s in specs])
    assert set(rows) == {s["name"] for s in specs}  # every setting has a row
    for spec in specs:
        row = rows[spec["name"]].split()
        assert row[1] == format_value(spec["default"]), row
        assert " ".join(spec["help"].split()) in flat  # and its help, whole
    assert "{softmax, bpr}" in rows["ranking_loss"]  # choices
    assert rows["dim"].split()[2:] == ["2", "..", "1024"]  # range
    assert "trains with: " in block and "epochs=10" in block
    assert "Training settings" in out  # the outer-loop settings too (proto is trainable)


def test_algorithms_several_names_in_order_once_each(capsys):
    assert main(["algorithms", "ease", "proto", "ease"]) == 0
    out = capsys.readouterr().out
    heads = [b.split()[0] for b in out.split("\n\n") if b.strip() and not b.startswith(" ")]
    assert heads == ["ease", "proto", "Training"]
    assert main(["algorithms", "ease"]) == 0  # closed form only: no training settings
    out = capsys.readouterr().out
    assert "Training settings" not in out and "closed form" in out
    assert "l2" in table_rows(out, ["l2"])


def test_algorithms_unknown_name_is_refused_with_the_valid_names(capsys):
    assert main(["algorithms", "proto", "protoo"]) == 2
    captured = capsys.readouterr()
    assert not captured.out  # nothing half-printed
    err = captured.err
    assert err.count("\n") == 1 and err.startswith("metarec algorithms: ")
    assert "unknown algorithm 'protoo'" in err and "did you mean 'proto'" in err
    for name in ALGORITHMS:
        assert name in err
    assert "Traceback" not in err


def test_algorithms_without_names_is_still_the_short_list(capsys):
    assert main(["algorithms"]) == 0
    out = capsys.readouterr().out
    lines = [line for line in out.splitlines() if line.split() and line.split()[0] in ALGORITHMS]
    assert len(lines) == len(ALGORITHMS)
    assert "settings (metarec train" not in out and "metarec algorithms NAME" in out


# ------------------------------------------------------------------ aligned, wrapped layout
@pytest.mark.parametrize("width", [100, 72])
def test_verbose_layout_is_aligned_and_wrapped(width, monkeypatch, capsys):
    monkeypatch.setenv("COLUMNS", str(width))
    assert main(["algorithms", "-v"]) == 0
    out = capsys.readouterr().out
    assert max(len(line) for line in out.splitlines()) <= width
    found = blocks(out)
    tables = [(name, cls.Config.field_specs(), found[name]) for name, cls in ALGORITHMS.items()]
    tables.append(("Training", TrainConfig.field_specs(), found["Training"]))
    for name, specs, block in tables:
        rows = table_rows(block, [s["name"] for s in specs])
        assert set(rows) == {s["name"] for s in specs}, name
        cells = [re.match(r"(\s*\S+\s+)(\S+)(\s+)(\S.*)$", line) for line in rows.values()]
        # the default and the allowed values start in the same column on every row of a table
        assert len({m.start(2) for m in cells}) <= 1, name
        assert len({m.start(4) for m in cells}) <= 1, name
        for spec in specs:
            assert rows[spec["name"]].split()[1] == format_value(spec["default"])


def test_help_is_indented_under_its_row_and_wraps(monkeypatch, capsys):
    monkeypatch.setenv("COLUMNS", "60")
    assert main(["algorithms", "proto"]) == 0
    lines = capsys.readouterr().out.splitlines()
    i = next(n for n, line in enumerate(lines) if line.split()[:1] == ["ranking_loss"])
    helps = []
    for line in lines[i + 1:]:
        if not line.startswith(HELP):
            break
        helps.append(line)
    assert len(helps) >= 3 and all(len(line) <= 60 for line in helps)
    assert " ".join(" ".join(helps).split()).startswith("Query ranking loss: 'softmax'")


def test_a_long_default_gets_its_own_line_and_keeps_the_columns():
    specs = [
        {"name": "a", "type": int, "default": 3, "help": "short", "low": 1, "high": 9},
        {"name": "path", "type": str, "default": "a/very/long/default/value/indeed",
         "help": "where", "choices": None},
        {"name": "mode", "type": str, "default": "x", "help": "m", "choices": ("x", "y")},
    ]
    lines = settings_table(specs, 100)
    rows = [line for line in lines if line.startswith(ROW) and not line.startswith(HELP)]
    by = {line.split()[0]: line for line in rows if line.split()[0] in ("a", "path", "mode")}
    assert by["path"].rstrip().endswith("a/very/long/default/value/indeed")
    follow = lines[lines.index(by["path"]) + 1]
    allowed_col = by["a"].index("1 .. 9")
    assert follow.index("text") == allowed_col == by["mode"].index("{x, y}")


def test_not_a_terminal_wraps_to_100_columns():
    env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES")}
    proc = subprocess.run([sys.executable, "-m", "core.cli", "algorithms", "maml"], cwd=ROOT,
                          env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    widths = [len(line) for line in proc.stdout.splitlines()]
    assert max(widths) <= 100 and max(widths) > 90


# ------------------------------------------------------------------ run labels
def hyper(name: str, **changes) -> dict:
    return {"algorithm": name, "title": algorithm_class(name).title,
            "hyperparameters": {**algorithm_class(name).Config().to_dict(), **changes}}


def test_label_is_the_algorithm_plus_what_differs_from_its_defaults():
    assert run_label(hyper("proto")) == "proto"
    assert run_label(hyper("proto", ranking_loss="bpr", rating_weight=0.1)) == \
        "proto (ranking_loss=bpr, rating_weight=0.1)"
    assert run_label(hyper("proto", ranking_loss="bpr"), title=True) == \
        "Prototype network (ranking_loss=bpr)"
    assert run_label(hyper("proto", rating_weight=1)) == "proto"  # 1 == 1.0 for a float setting
    assert run_label(hyper("maml", dim=128)) == "maml (dim=128)"  # maml's default is 64 ...
    assert run_label(hyper("proto", dim=128)) == "proto"  # ... proto's is 128
    partial = {"algorithm": "proto", "hyperparameters": {"ranking_loss": "bpr"}}
    assert run_label(partial) == "proto (ranking_loss=bpr)"  # missing settings are defaults
    assert run_label({"algorithm": "proto", "hyperparameters": {"gone": 1}}) == "proto (gone=1)"
    assert run_label({"algorithm": "future_algo", "hyperparameters": {"x": 1}}) == "future_algo"
    assert run_label({}) == "?"
    assert changed_settings(hyper("proto", warm_start=False)) == {"warm_start": False}


def test_long_labels_end_in_an_ellipsis_and_the_full_one_is_kept():
    config = hyper("proto", dim=32, init="random", negatives=50, shrinkage=1.5,
                   ranking_loss="bpr", rating_weight=0.1)
    short, full = run_label(config), run_label(config, limit=None)
    assert len(short) <= LABEL_LIMIT < len(full)
    assert short == "proto (dim=32, init=random, negatives=50, …)"
    assert full == ("proto (dim=32, init=random, negatives=50, ranking_loss=bpr, "
                    "rating_weight=0.1, shrinkage=1.5)")
    assert run_label(config, limit=30, ellipsis="...") == "proto (dim=32, ...)"
    assert run_label(config, limit=8) == "proto (…"  # not even one setting fits


@pytest.fixture(scope="module")
def proto_runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("labelled")
    plain, bpr = root / "plain", root / "bpr"
    common = ["train", "--dataset", SYNTH, "--algorithm", "proto", "--epochs", "1", "-q",
              "--set", "max_steps=3"]
    assert main([*common, "--out", str(plain)]) == 0
    assert main([*common, "--set", "ranking_loss=bpr", "--set", "rating_weight=0.1",
                 "--out", str(bpr)]) == 0
    return plain, bpr


def test_compare_tells_two_runs_of_one_algorithm_apart(proto_runs, capsys):
    plain, bpr = proto_runs
    capsys.readouterr()
    assert main(["compare", str(plain), str(bpr), "--k", "10"]) == 0
    lines = capsys.readouterr().out.splitlines()
    head, rows = lines[0], {line.split()[0]: line for line in lines[1:]}
    assert head.split()[:3] == ["run", "algorithm", "K"]
    col = head.index("algorithm")
    assert rows["bpr"][col:].startswith("proto (ranking_loss=bpr, rating_weight=0.1) ")
    assert rows["plain"][col:].startswith("proto ") and "(" not in rows["plain"]
    assert main(["compare", str(plain), str(bpr), "--k", "10", "--json"]) == 0
    records = {r["run"]: r for r in json.loads(capsys.readouterr().out)}
    assert records["bpr"]["algorithm"] == "proto"
    assert records["bpr"]["label"] == "proto (ranking_loss=bpr, rating_weight=0.1)"
    assert records["bpr"]["settings"] == {"ranking_loss": "bpr", "rating_weight": 0.1}
    assert records["plain"]["label"] == "proto" and records["plain"]["settings"] == {}


def test_compare_shortens_long_labels(proto_runs, tmp_path, capsys):
    plain, _ = proto_runs
    config = json.loads((plain / "config.json").read_text())
    config["hyperparameters"].update(dim=32, init="random", negatives=50, shrinkage=1.5,
                                     ranking_loss="bpr", rating_weight=0.1)
    many = tmp_path / "many"
    many.mkdir()
    (many / "config.json").write_text(json.dumps(config))
    (many / "summary.json").write_text((plain / "summary.json").read_text())
    capsys.readouterr()
    assert main(["compare", str(many), "--k", "10"]) == 0
    out = capsys.readouterr().out
    assert "proto (dim=32, init=random, negatives=50, …)" in out
    assert main(["compare", str(many), "--k", "10", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)[0]["label"].endswith("shrinkage=1.5)")
