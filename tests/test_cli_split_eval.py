"""Split options on `metarec train`, empty splits said before training, `evaluate`/`compare`
with top-N metrics beside MAE, and --k values checked."""

from __future__ import annotations

import json

import pytest
from cli_fixtures import longtail_csv

from core.cli import main
from core.cli.common import format_metrics, parse_ks

SYNTH = "synthetic:n_users=160,n_items=120,seed=4"


def test_a_split_without_cold_users_is_reported_before_training(tmp_path, capsys):
    data = longtail_csv(tmp_path)  # 20 ratings per user; default cold users need 10 + 20
    out = tmp_path / "run"
    assert main(["train", "--dataset", str(data), "--algorithm", "item_bias", "--out", str(out),
                 "-q"]) == 2
    err = capsys.readouterr().err
    assert "0 validation and 0 test users" in err and "--query-size" in err
    assert "--max-support" in err and err.count("\n") == 1
    assert not out.exists()  # refused before anything was written

    # the suggested options work
    suggestion = err.split("e.g. ", 1)[1].split(" (", 1)[0].split()
    assert suggestion[0] == "--query-size" and suggestion[2] == "--max-support"
    assert main(["train", "--dataset", str(data), "--algorithm", "item_bias", "--out", str(out),
                 "-q", *suggestion]) == 0
    cfg = json.loads((out / "config.json").read_text())["split"]
    assert (cfg["query_size"], cfg["max_support"]) == (int(suggestion[1]), int(suggestion[3]))
    assert "Test users" in capsys.readouterr().out


def test_split_options_reach_the_run_and_inspect_notes_empty_splits(tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["train", "--dataset", SYNTH, "--algorithm", "item_bias", "--out", str(out), "-q",
                 "--query-size", "5", "--max-support", "8", "--val-fraction", "0.2",
                 "--test-fraction", "0.25", "--min-ratings", "3", "--split-seed", "7"]) == 0
    cfg = json.loads((out / "config.json").read_text())["split"]
    assert cfg == cfg | {"query_size": 5, "max_support": 8, "val_fraction": 0.2,
                         "test_fraction": 0.25, "min_ratings": 3, "seed": 7}
    capsys.readouterr()
    assert main(["train", "--dataset", SYNTH, "--out", str(tmp_path / "x"),
                 "--val-fraction", "0.7", "--test-fraction", "0.5"]) == 2
    assert "split settings" in capsys.readouterr().err

    assert main(["inspect", str(longtail_csv(tmp_path))]) == 0
    assert "0 validation and 0 test users" in capsys.readouterr().out


def test_evaluate_on_a_run_without_test_users_says_so(tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["train", "--dataset", SYNTH, "--algorithm", "item_bias", "--out", str(out), "-q",
                 "--test-fraction", "0"]) == 0  # asked for explicitly: allowed
    capsys.readouterr()
    assert main(["evaluate", str(out)]) == 2
    captured = capsys.readouterr()
    assert "0 test users" in captured.err and not captured.out
    assert main(["evaluate", str(out), "--role", "val", "--k", "5"]) == 0


@pytest.fixture(scope="module")
def two_runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("runs")
    a, b = root / "bias", root / "fomaml"
    assert main(["train", "--dataset", SYNTH, "--algorithm", "user_item_bias", "--out", str(a),
                 "-q", "--max-support", "10"]) == 0
    assert main(["train", "--dataset", SYNTH, "--algorithm", "fomaml", "--epochs", "1",
                 "--set", "meta_batch_size=16", "--out", str(b), "-q"]) == 0
    return a, b


def test_k_values_are_checked(two_runs, capsys):
    a, _ = two_runs
    capsys.readouterr()
    for k, words in (("50", "K = 50 is more than this run's split reveals (at most 10"),
                     ("abc", "whole numbers"), ("0", "at least 1"), ("5,,", "whole numbers")):
        assert main(["evaluate", str(a), "--k", k]) == 2, k
        err = capsys.readouterr().err
        assert words in err and err.count("\n") == 1, (k, err)
    assert main(["compare", str(a), "--k", "x"]) == 2
    assert "whole numbers" in capsys.readouterr().err
    assert parse_ks("5, 10,5") == [5, 10]


def test_evaluate_and_compare_show_top_n_beside_mae(two_runs, capsys):
    a, b = two_runs
    capsys.readouterr()
    assert main(["evaluate", str(a), "--k", "1,5,10"]) == 0
    out = capsys.readouterr().out
    assert "Recall@20" in out and "MAE" in out and out.count("\n") == 6
    assert main(["evaluate", str(a)]) == 0  # default Ks up to the split's max support (10)
    out = capsys.readouterr().out
    assert [line.split()[0] for line in out.splitlines()[3:]] == ["1", "2", "5", "10"]
    assert main(["compare", str(a), str(b), "--k", "5,10,20"]) == 0
    captured = capsys.readouterr()
    assert "Recall@20" in captured.out and "MAE" in captured.out
    assert "no test metrics at K = 20" in captured.err  # run a was split with max support 10
    assert main(["compare", str(a), str(b), "--k", "5", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert {r["algorithm"] for r in rows} == {"user_item_bias", "fomaml"}
    assert all("recall20" in r and "mae" in r for r in rows)


def test_metric_tables_show_whatever_keys_the_evaluation_has():
    explicit = {5: {"recall20": 0.3, "ndcg20": 0.2, "mae": 0.8, "rmse": 1.0, "users": 12}}
    implicit = {5: {"recall10": 0.1, "recall20": 0.3, "ndcg10": 0.1, "ndcg20": 0.2,
                    "users": 12}}
    text = format_metrics(explicit)
    head = text.splitlines()[0]
    assert head.split()[:5] == ["K", "Recall@20", "nDCG@20", "MAE", "RMSE"]
    assert "0.3000" in text and "12" in text
    text = format_metrics(implicit)
    assert "MAE" not in text and "RMSE" not in text and "nDCG@20" in text


def test_a_relative_dataset_path_is_stored_resolved(tmp_path, monkeypatch, capsys):
    data = longtail_csv(tmp_path, per_user=40)
    monkeypatch.chdir(tmp_path)
    assert main(["train", "--dataset", data.name, "--algorithm", "item_bias", "--out", "run",
                 "-q"]) == 0
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    capsys.readouterr()
    assert main(["evaluate", str(tmp_path / "run"), "--k", "5", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["metrics"]["5"]["users"] > 0
