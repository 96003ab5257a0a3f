"""A new user's own files (core.userfiles, `metarec recommend` / `predict`): one CSV reader,
titles or ids, ratings checked against the scale, duplicates reported, many users per file."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from cli_fixtures import ml100k_folder, movielens_folder

from core.cli import main
from core.data.errors import DatasetError
from core.data.loading import load_dataset
from core.userfiles import parse_user_features, read_user_ratings, user_feature_codes


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    root = tmp_path_factory.mktemp("tiny")
    folder = movielens_folder(root)
    dataset = load_dataset(str(folder))
    run = root / "run"
    assert main(["train", "--dataset", str(folder), "--algorithm", "item_bias", "--out", str(run),
                 "-q"]) == 0
    return root, folder, dataset, run


def _ids(dataset, *raw):
    return [int(dataset.item_index([r])[0]) for r in raw]


def test_bom_and_crlf_read_like_any_csv(tiny, tmp_path):
    _, _, dataset, _ = tiny
    path = tmp_path / "mine.csv"
    path.write_bytes(b"\xef\xbb\xbfitem,rating\r\n1,4.5\r\n2,1\r\n\r\n")
    got = read_user_ratings(path, dataset)
    assert not got.has_user_column and got.users == [""]
    assert got.ratings[""] == dict(zip(_ids(dataset, 1, 2), [4.5, 1.0], strict=True))


def test_titles_are_matched_and_ambiguity_names_the_line(tiny, tmp_path):
    _, _, dataset, _ = tiny
    path = tmp_path / "titles.csv"
    path.write_text("title,stars\nToy Story,5\nthe matrix,4\n\"Matrix, The (1999)\",4.5\n"
                    "Hamlet (1990),2\n")
    got = read_user_ratings(path, dataset)
    toy, matrix, hamlet90 = _ids(dataset, 1, 2, 4)
    assert got.ratings[""] == {toy: 5.0, matrix: 4.5, hamlet90: 2.0}
    assert any("line 4" in n and "rated again" in n and "first on line 3" in n for n in got.notes)

    path.write_text("item,rating\n1,5\nHamlet,4\n")
    with pytest.raises(DatasetError) as err:
        read_user_ratings(path, dataset)
    msg = str(err.value)
    assert "line 3" in msg and "matches 2 items" in msg and "Hamlet (1948)" in msg
    assert "Hamlet (1990)" in msg

    path.write_text("item,rating\nStar Wars (1977),5\n")  # the start of a longer title
    got = read_user_ratings(path, dataset)
    assert got.ratings[""] == {_ids(dataset, 11)[0]: 5.0}
    assert "line 2: 'Star Wars (1977)' read as Star Wars: Episode IV - A New Hope (1977) [id 11]" \
        in got.notes[0]
    path.write_text("item,rating\nStar Wars,5\n")
    with pytest.raises(DatasetError, match="'Star Wars' matches 2 items.*id 11.*id 12"):
        read_user_ratings(path, dataset)

    path.write_text("item,rating\nToy Storyy,5\nNo Such Film,3\n")
    with pytest.raises(DatasetError) as err:
        read_user_ratings(path, dataset)
    assert "line 2" in str(err.value) and "did you mean 'Toy Story (1995)" in str(err.value)
    got = read_user_ratings(path, dataset, skip_unknown=True)
    assert got.ratings[""] == {} and len(got.notes) == 2 and "line 3" in got.notes[1]


@pytest.mark.parametrize("value", ["10", "-3", "abc", "nan", ""])
def test_ratings_are_checked_against_the_scale(tiny, tmp_path, value):
    _, _, dataset, _ = tiny
    path = tmp_path / "bad.csv"
    path.write_text(f"item,rating\n1,4\n2,{value}\n")
    with pytest.raises(DatasetError) as err:
        read_user_ratings(path, dataset)
    msg = str(err.value)
    assert "line 3" in msg and "rating" in msg
    if value in ("10", "-3"):
        assert f"rating {value} is outside the dataset's scale 0.5 .. 5" in msg


def test_missing_file_and_missing_column(tiny, tmp_path, capsys):
    _, _, _, run = tiny
    assert main(["recommend", str(run), "--ratings", str(tmp_path / "nope.csv")]) == 2
    err = capsys.readouterr().err
    assert "nope.csv" in err and "no such file" in err and err.count("\n") == 1
    (tmp_path / "cols.csv").write_text("what;how\n1;4\n")
    assert main(["recommend", str(run), "--ratings", str(tmp_path / "cols.csv")]) == 2
    err = capsys.readouterr().err
    assert "missing column(s) item, rating; the file has what, how" in err


def test_cli_refuses_offscale_and_names_line_and_value(tiny, tmp_path, capsys):
    _, _, _, run = tiny
    (tmp_path / "off.csv").write_text("item,rating\n1,10\n2,-3\n")
    assert main(["recommend", str(run), "--ratings", str(tmp_path / "off.csv")]) == 2
    err = capsys.readouterr().err
    assert "line 2" in err and "rating 10 is outside" in err and "Traceback" not in err


def test_a_user_column_gives_top_n_for_every_user(tiny, tmp_path, capsys):
    _, _, dataset, run = tiny
    (tmp_path / "many.csv").write_text(
        "user,item,rating\nann,1,5\nann,2,4\nbob,Alien,5\nbob,Jaws (1975),4.5\nbob,3,1\n")
    out = tmp_path / "recs.csv"
    assert main(["recommend", str(run), "--ratings", str(tmp_path / "many.csv"), "--top", "3",
                 "--min-ratings", "0", "--out", str(out)]) == 0
    assert "wrote 6 recommendations for 2 user(s)" in capsys.readouterr().out
    recs = pd.read_csv(out, dtype={"item": str})
    assert list(recs.columns) == ["user", "rank", "item", "score", "title"]
    assert recs.groupby("user")["rank"].apply(list).to_dict() == {"ann": [1, 2, 3],
                                                                  "bob": [1, 2, 3]}
    assert set(recs["item"]) <= {str(i) for i in dataset.item_ids}  # raw ids, not indices
    assert not set(recs[recs.user == "ann"]["item"]) & {"1", "2"}  # rated items never return
    assert not set(recs[recs.user == "bob"]["item"]) & {"5", "10", "3"}

    # --out exists: refused without --overwrite
    assert main(["recommend", str(run), "--ratings", str(tmp_path / "many.csv"), "--top", "3",
                 "--out", str(out)]) == 2
    assert "--overwrite" in capsys.readouterr().err
    assert main(["recommend", str(run), "--ratings", str(tmp_path / "many.csv"), "--top", "2",
                 "--min-ratings", "0", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert [u["user"] for u in report["users"]] == ["ann", "bob"]
    assert all(len(u["adapted"]) == 2 for u in report["users"])


def test_short_lists_are_never_silent(tiny, tmp_path, capsys):
    _, _, dataset, run = tiny
    (tmp_path / "one.csv").write_text("item,rating\n1,5\n")
    n_items = dataset.n_items
    assert main(["recommend", str(run), "--ratings", str(tmp_path / "one.csv"), "--top", "500",
                 "--min-ratings", "0", "--json"]) == 0
    captured = capsys.readouterr()
    report = json.loads(captured.out)
    assert len(report["adapted"]) == n_items - 1 == report["candidates"]
    assert f"only {n_items - 1} item(s) can be recommended" in captured.err
    assert "showing 39 of the 500 asked for" in captured.err
    # a candidate filter nobody passes: an empty list, said out loud with the way out
    assert main(["recommend", str(run), "--ratings", str(tmp_path / "one.csv"), "--top", "5",
                 "--min-ratings", "100000"]) == 0
    captured = capsys.readouterr()
    assert "only 0 item(s)" in captured.err and "lower --min-ratings" in captured.err


def test_the_candidate_filter_counts_training_users_only(tiny, tmp_path, capsys):
    import numpy as np

    from core.cli.common import open_run, run_context
    from core.recommend import Recommender
    from core.split import train_rows

    _, _, _, run = tiny
    dataset, split, algorithm = run_context(open_run(str(run)))
    train_counts = np.bincount(dataset.item[train_rows(dataset, split)], minlength=dataset.n_items)
    all_counts = dataset.ratings_per_item
    threshold = int(np.median(train_counts)) + 1  # between the training and the full counts
    assert ((train_counts >= threshold) != (all_counts >= threshold)).any()
    (tmp_path / "one.csv").write_text("item,rating\n1,5\n")
    assert main(["recommend", str(run), "--ratings", str(tmp_path / "one.csv"), "--top", "100",
                 "--min-ratings", str(threshold), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    expected = train_counts >= threshold
    expected[_ids(dataset, 1)[0]] = False
    assert report["candidates"] == int(expected.sum()) == len(report["adapted"])
    assert np.array_equal(Recommender(algorithm, dataset, split).candidate_counts(), train_counts)


def test_user_features_parse_and_encode(tmp_path):
    dataset = load_dataset(str(ml100k_folder(tmp_path)))
    assert parse_user_features(["gender=F", "occupation = writer"]) == {
        "gender": "F", "occupation": "writer"}
    with pytest.raises(ValueError, match="FIELD=VALUE"):
        parse_user_features(["gender"])
    none = user_feature_codes(dataset, {})
    assert none is not None and (none == 0).all() and len(none) == len(dataset.user_features.fields)
    codes = user_feature_codes(dataset, {"gender": "F"})
    assert (codes > 0).sum() == 1
    with pytest.raises(ValueError, match="unknown user feature"):
        user_feature_codes(dataset, {"shoe_size": "42"})
    with pytest.raises(ValueError, match="gender=X never occur.*gender: F, M"):
        user_feature_codes(dataset, {"gender": "X"})
    assert (user_feature_codes(dataset, {"age": "30", "occupation": "writer"}) > 0).sum() == 2


def test_predict_on_data_with_user_features(tmp_path, capsys):
    folder = ml100k_folder(tmp_path)
    run = tmp_path / "run"
    assert main(["train", "--dataset", str(folder), "--algorithm", "maml", "--epochs", "1",
                 "--out", str(run), "-q"]) == 0
    (tmp_path / "s.csv").write_text("user,item,rating\nx,1,5\nx,2,3\ny,Movie 3,4\n")
    (tmp_path / "q.csv").write_text("user,item\nx,5\nx,6\ny,7\nz,8\n")
    for extra in ([], ["--user-feature", "gender=F"]):
        out = tmp_path / f"pred{len(extra)}.csv"
        assert main(["predict", str(run), "--support", str(tmp_path / "s.csv"), "--query",
                     str(tmp_path / "q.csv"), "--out", str(out), *extra]) == 0
        pred = pd.read_csv(out)
        assert len(pred) == 4 and pred["prediction"].between(1, 5).all()
        assert "user 'z' has no ratings" in capsys.readouterr().err
    assert main(["predict", str(run), "--support", str(tmp_path / "s.csv"), "--query",
                 str(tmp_path / "q.csv"), "--out", str(tmp_path / "p.csv"),
                 "--user-feature", "planet=Mars"]) == 2
    assert "unknown user feature(s) planet" in capsys.readouterr().err
    (tmp_path / "mine.csv").write_text("item,rating\n1,5\nMovie 2,3\n")
    for extra in ([], ["--user-feature", "gender=F", "--user-feature", "age=30"]):
        assert main(["recommend", str(run), "--ratings", str(tmp_path / "mine.csv"), "--top", "3",
                     "--min-ratings", "0", "--json", *extra]) == 0
        assert len(json.loads(capsys.readouterr().out)["adapted"]) == 3
