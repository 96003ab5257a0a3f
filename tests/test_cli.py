"""The `metarec` command line: the same code paths as the app, one clear line per error."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from core.cli import main
from core.data.loading import load_dataset

SYNTH = "synthetic:n_users=160,n_items=120,seed=4"


def test_datasets_and_inspect_builtin(capsys):
    assert main(["datasets"]) == 0
    assert "movielens-small" in capsys.readouterr().out
    assert main(["inspect", "movielens-small"]) == 0
    out = capsys.readouterr().out
    assert "671" in out and "9,066" in out and "100,004" in out


def test_inspect_bad_file_names_file_and_line_without_traceback(tmp_path, capsys):
    bad = tmp_path / "ratings.csv"
    bad.write_text("userId,movieId,rating\n1,10,4\n2,11,five\n")
    before = bad.read_bytes()
    assert main(["inspect", str(bad)]) == 2
    err = capsys.readouterr().err
    assert str(bad) in err and "line 3" in err and "Traceback" not in err
    assert bad.read_bytes() == before


def test_unknown_setting_and_algorithm_are_clear(tmp_path, capsys):
    assert main(["train", "--dataset", SYNTH, "--algorithm", "maml", "--set", "nope=1",
                 "--out", str(tmp_path / "r")]) == 2
    assert "unknown setting(s) nope" in capsys.readouterr().err
    assert main(["train", "--dataset", SYNTH, "--algorithm", "bogus"]) == 2
    assert "unknown algorithm 'bogus'" in capsys.readouterr().err


def test_train_evaluate_recommend_predict_compare(tmp_path, capsys):
    maml, base = tmp_path / "maml", tmp_path / "base"
    assert main(["train", "--dataset", SYNTH, "--algorithm", "fomaml", "--epochs", "2",
                 "--set", "meta_batch_size=16", "--out", str(maml), "-q"]) == 0
    assert main(["train", "--dataset", SYNTH, "--algorithm", "user_item_bias", "--out", str(base),
                 "-q"]) == 0
    capsys.readouterr()

    assert main(["evaluate", str(maml), "--k", "1,5", "--json", "--inner-steps", "0,3"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert set(report["metrics"]) == {"1", "5"} and report["metrics"]["5"]["mae"] > 0
    zero, three = report["inner_steps"]
    assert (zero["steps"], three["steps"]) == (0, 3) and three["mae"] != zero["mae"]

    dataset = load_dataset(SYNTH)
    raw = dataset.item_ids
    pd.DataFrame({"item": list(raw[:5]) + ["no-such-item"], "rating": [5, 1, 4, 2, 5, 3]}).to_csv(
        tmp_path / "mine.csv", index=False)
    assert main(["recommend", str(maml), "--ratings", str(tmp_path / "mine.csv"), "--top", "5",
                 "--json"]) == 2  # an item that is neither an id nor a title: refused
    assert "line 7, column 'item': 'no-such-item' is neither" in capsys.readouterr().err
    assert main(["recommend", str(maml), "--ratings", str(tmp_path / "mine.csv"), "--top", "5",
                 "--json", "--skip-unknown", "--min-ratings", "0"]) == 0
    captured = capsys.readouterr()
    rec = json.loads(captured.out)
    assert len(rec["adapted"]) == 5
    assert not {r["item_id"] for r in rec["adapted"]} & set(raw[:5].tolist())
    assert "line 7, column 'item': 'no-such-item'" in captured.err and "(skipped)" in captured.err

    pd.DataFrame({"user": ["a"] * 3 + ["b"] * 2, "item": list(raw[:3]) + list(raw[3:5]),
                  "rating": [5, 4, 1, 2, 3]}).to_csv(tmp_path / "support.csv", index=False)
    pd.DataFrame({"user": ["a", "a", "b", "b"], "item": [raw[10], raw[11], raw[12], "zzz"]}).to_csv(
        tmp_path / "query.csv", index=False)
    out = tmp_path / "pred.csv"
    assert main(["predict", str(maml), "--support", str(tmp_path / "support.csv"),
                 "--query", str(tmp_path / "query.csv"), "--out", str(out)]) == 0
    pred = pd.read_csv(out)
    assert len(pred) == 3 and pred["prediction"].between(dataset.scale.min, dataset.scale.max).all()
    assert "'zzz' is neither an item id nor a title" in capsys.readouterr().err

    assert main(["compare", str(maml), str(base), "--k", "10"]) == 0
    table = capsys.readouterr().out
    assert "fomaml" in table and "user_item_bias" in table


def test_run_for_a_missing_folder(tmp_path, capsys):
    assert main(["evaluate", str(tmp_path / "nothing")]) == 2
    assert "not a MetaRec run folder" in capsys.readouterr().err


@pytest.mark.parametrize("verbose", [[], ["-v"]])
def test_algorithms_listing(verbose, capsys):
    assert main(["algorithms", *verbose]) == 0
    out = capsys.readouterr().out
    for name in ("maml", "fomaml", "melu", "metasgd", "reptile", "proto", "mf_foldin", "finetune"):
        assert name in out


def test_table_with_column_mapping_trains_and_reloads(tmp_path, capsys):
    rng = np.random.default_rng(0)
    rows = [(f"u{u}", f"i{i}", int(rng.integers(1, 6))) for u in range(60)
            for i in rng.choice(80, 35, replace=False)]
    table = tmp_path / "stars.tsv"
    pd.DataFrame(rows, columns=["who", "what", "stars"]).to_csv(table, sep="\t", index=False)
    cols = "user=who,item=what,rating=stars"
    assert main(["inspect", str(table)]) == 2  # the columns cannot be guessed
    assert "column mapping" in capsys.readouterr().err
    assert main(["inspect", str(table), "--columns", cols]) == 0
    assert "60" in capsys.readouterr().out
    run = tmp_path / "run"
    assert main(["train", "--dataset", str(table), "--columns", cols, "--algorithm",
                 "user_item_bias", "--out", str(run), "-q"]) == 0
    capsys.readouterr()
    assert main(["evaluate", str(run), "--k", "5", "--json"]) == 0  # reloads with the mapping
    assert json.loads(capsys.readouterr().out)["metrics"]["5"]["mae"] > 0
    assert main(["inspect", str(table), "--columns", "user=who"]) == 2
