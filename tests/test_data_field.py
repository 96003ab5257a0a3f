"""Files shaped like those people bring (issue 10, data items 1-5; issue 8 section 4): ids kept as
text, side-file encodings, non-MovieLens ratings.csv, JSON lines, Netflix blocks, Book-Crossing,
given scales, implicit feedback, and user features for new users. Every input is generated here."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from core.data import (
    IMPLICIT_SCALE,
    ColumnMapping,
    DatasetError,
    DatasetSpec,
    RatingScale,
    describe_source,
    load_dataset,
    load_table,
)


def write(path: Path, text: str, encoding: str = "utf-8") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(text.encode(encoding))
    return path


def grid(n_users: int = 4, n_items: int = 5, user=str, item=str, rating=lambda u, i: 1 + (u + i) % 5):
    return [(user(u), item(i), rating(u, i)) for u in range(n_users) for i in range(n_items)]


def csv_text(rows, header="user,item,rating") -> str:
    return header + "\n" + "".join(",".join(str(v) for v in r) + "\n" for r in rows)


# --------------------------------------------------------------------------- 2. ids are text
def test_zero_padded_and_plain_ids_are_different_people(tmp_path):
    rows = [("0001", "0763493191", 4), ("0001", "0170891065", 2), ("1", "0763493191", 5),
            ("1", "170891065", 3), ("002", "0763493191", 1)]  # fmt: skip
    ds = load_dataset(write(tmp_path / "r.csv", csv_text(rows, "user_id,isbn,rating")))
    assert list(ds.user_ids) == ["0001", "002", "1"]
    assert "0763493191" in list(ds.item_ids) and "170891065" in list(ds.item_ids)
    assert ds.n_ratings == 5 and not any("duplicate" in n for n in ds.notes)
    assert ds.user_index(["0001", "1", 1, "01"]).tolist() == [0, 2, 2, -1]


def test_ids_past_int64_stay_distinct(tmp_path):
    big = [str(2**64 + k) for k in range(3)]
    rows = [(big[u], f"i{i}", 1 + (u + i) % 5) for u in range(3) for i in range(3)]
    ds = load_dataset(write(tmp_path / "r.csv", csv_text(rows)))
    assert ds.n_users == 3 and sorted(ds.user_ids) == sorted(big)


def test_numeric_ids_stay_numbers_when_every_value_is_canonical(tmp_path):
    ds = load_dataset(write(tmp_path / "r.csv", csv_text(grid(user=lambda u: u + 1, item=lambda i: 10 * i))))
    assert np.asarray(ds.user_ids).dtype.kind == "i" and list(ds.user_ids) == [1, 2, 3, 4]
    assert ds.item_index(["10", 10, "010"]).tolist() == [1, 1, -1]


def test_unicode_ids_work_and_fingerprint(tmp_path):
    items = ["café", "Sigur Rós", "坂本龍一", "Motörhead", "tea"]
    rows = grid(item=lambda i: items[i])
    ds = load_dataset(write(tmp_path / "r.csv", csv_text(rows, "user,artist,rating")))
    assert set(ds.item_ids) == set(items)
    assert len(ds.fingerprint) == 16
    other = load_dataset(write(tmp_path / "s.csv", csv_text(grid(item=lambda i: f"x{i}"))))
    assert other.fingerprint != ds.fingerprint
    assert ds.item_index(["坂本龍一"])[0] >= 0


# --------------------------------------------------------------------------- 3. encodings
GENRES = "unknown|0\nAction|1\nComedy|2\n"


def write_100k(folder: Path, item_encoding: str, half_star: bool = False) -> Path:
    rating = "4.5" if half_star else "4"
    lines = [f"{u}\t{i}\t{1 + (u * i) % 5}\t88125094{u}" for u in range(1, 5) for i in range(1, 4)]
    lines[5] = f"2\t3\t{rating}\t881250949"
    write(folder / "u.data", "\n".join(lines) + "\n")
    write(folder / "u.genre", GENRES)
    flags = "|".join(["0"] * 3)
    items = (
        f"1|Les Misérables (1995)|01-Jan-1995||http://x|{flags}\n"
        f"2|Être et avoir (2002)|01-Jan-2002||http://x|{flags}\n"
        f"3|Plain (1990)|01-Jan-1990||http://x|{flags}\n"
    )
    write(folder / "u.item", items, item_encoding)
    write(folder / "u.user", "1|24|M|technician|85711\n2|53|F|other|94043\n3|23|M|writer|32067\n"
                             "4|24|M|technician|43537\n")  # fmt: skip
    return folder


@pytest.mark.parametrize("encoding, said", [("utf-8", "UTF-8"), ("latin-1", "Latin-1")])
def test_side_files_decoded_by_content_and_noted(tmp_path, encoding, said):
    ds = load_dataset(write_100k(tmp_path / "ml", encoding))
    assert "Les Misérables" in set(ds.items["title"]) and "Être et avoir" in set(ds.items["title"])
    assert any(n.startswith("u.item") and said in n for n in ds.notes)
    assert any(said in n for n in ds.summary()["notes"])


def test_half_stars_in_100k_are_refused(tmp_path):
    with pytest.raises(DatasetError) as err:
        load_dataset(write_100k(tmp_path / "ml", "utf-8", half_star=True))
    e = err.value
    assert e.path.endswith("u.data") and e.line == 6 and e.column == "rating" and "4.5" in e.problem


# --------------------------------------------------------------------------- 4. formats
def test_ratings_csv_that_is_not_movielens_is_a_generic_table(tmp_path):
    rows = grid(user=lambda u: u + 1, item=lambda i: i + 100)
    path = write(tmp_path / "goodbooks" / "ratings.csv", csv_text(rows, "user_id,book_id,rating"))
    for source in (path, path.parent):
        ds = load_dataset(source)
        assert (ds.n_users, ds.n_items) == (4, 5)
    assert any("not MovieLens" in n for n in ds.notes)  # the folder: said why


def test_json_lines_reviews(tmp_path):
    lines = [
        {"review_id": f"r{k}", "user_id": f"u{k % 4}", "business_id": f"b{k % 5}",
         "stars": float(1 + k % 5), "text": "Good,\n\"great\"", "date": f"2016-0{1 + k % 9}-01 10:00:00"}
        for k in range(20)
    ]  # fmt: skip
    path = write(tmp_path / "reviews.jsonl", "".join(json.dumps(x) + "\n" for x in lines))
    ds = load_dataset(path)
    assert (ds.n_users, ds.n_items, ds.n_ratings) == (4, 5, 20)
    assert ds.timestamp is not None and ds.timestamp.min() > 1.4e9
    assert "JSON lines" in describe_source(path)


def test_json_lines_amazon_with_mixed_id_types(tmp_path):
    lines = [{"reviewerID": k % 3 if k % 2 else f"{k % 3:04d}", "asin": f"B0{k % 4}", "overall": 1 + k % 5,
              "unixReviewTime": 1400000000 + k} for k in range(12)]  # fmt: skip
    ds = load_dataset(write(tmp_path / "amazon.json", "\n".join(json.dumps(x) for x in lines) + "\n"))
    assert set(ds.user_ids) >= {"0000", "1", "0001"}  # 1 and "0001" stay two users


def test_json_lines_bad_line_is_named(tmp_path):
    text = '{"user_id": "a", "item_id": "x", "rating": 3}\n{"user_id": "b", "item_id": \n'
    with pytest.raises(DatasetError) as err:
        load_dataset(write(tmp_path / "r.jsonl", text))
    assert err.value.line == 2


def test_netflix_blocks_with_titles(tmp_path):
    text = "1:\n30878,4,2005-12-26\n2647871,4,2005-12-30\n\n2:\n30878,3,2004-05-03\n1,5,2004-06-01\n"
    path = write(tmp_path / "combined_data_1.txt", text)
    write(tmp_path / "movie_titles.csv", "1,2003,Dinosaur Planet\n2,NULL,Fall, Rise and Fall\n",
          "latin-1")  # fmt: skip
    ds = load_dataset(path)
    assert (ds.n_users, ds.n_items, ds.n_ratings) == (3, 2, 4)
    assert list(ds.items["title"]) == ["Dinosaur Planet", "Fall, Rise and Fall"]
    assert ds.scale == RatingScale(1, 5, 1) and ds.timestamp is not None
    assert "Netflix" in describe_source(path)


def test_netflix_bad_line_is_named(tmp_path):
    good = "".join(f"{u},4,2005-12-26\n" for u in range(1, 7))
    path = write(tmp_path / "mv_0000001.txt", "1:\n" + good + "12;3\n")
    with pytest.raises(DatasetError) as err:
        load_dataset(path)
    assert err.value.line == 8 and "12;3" in err.value.problem


BX = (
    '"User-ID";"ISBN";"Book-Rating"\n'
    + "".join(f'"{u}";"0{i}95153{i}";"{0 if (u + i) % 3 else 1 + (u * i) % 10}"\n'
              for u in range(1, 9) for i in range(1, 7))
)  # fmt: skip


def test_book_crossing_zero_means_no_rating_is_noted(tmp_path):
    ds = load_dataset(write(tmp_path / "BX-Book-Ratings.csv", BX))
    assert ds.scale.min == 0 and str(ds.item_ids[0]).startswith("0")
    assert any("Book-Crossing" in n for n in ds.notes)


def test_escape_character_option(tmp_path):
    text = 'user;item;title;rating\n1;a;"The \\"Best\\" Book; vol 1";5\n2;b;"Plain";3\n1;b;"x";4\n'
    path = write(tmp_path / "bx.csv", text)
    mapping = ColumnMapping("user", "item", "rating", escape="\\")
    ds = load_table(path, mapping)
    assert ds.n_ratings == 3
    ds2 = load_dataset(path, escape="\\")
    assert ds2.n_ratings == 3


# --------------------------------------------------------------------------- 5. scale
def test_scale_parse_forms():
    assert RatingScale.parse("-10:10:0.05") == RatingScale(-10, 10, 0.05)
    assert RatingScale.parse("1:5") == RatingScale(1, 5, 1)
    assert RatingScale.parse("0.5..5") == RatingScale(0.5, 5, 1)
    assert RatingScale.parse(str(RatingScale(-10, 10, 0.05))) == RatingScale(-10, 10, 0.05)
    for bad in ("5:1", "a:b", "1", "1:5:9"):
        with pytest.raises(DatasetError):
            RatingScale.parse(bad)


def test_given_scale_replaces_the_inferred_one(tmp_path):
    rows = grid(rating=lambda u, i: round(-9.95 + (u * 5 + i) * 0.83, 2))
    path = write(tmp_path / "jester.csv", csv_text(rows))
    assert load_dataset(path).scale.min == -9.95
    ds = load_dataset(path, scale="-10:10:0.05")
    assert ds.scale == RatingScale(-10, 10, 0.05)
    assert any("not on the scale" in n for n in ds.notes)  # 2-decimal values: noted, kept
    spec = DatasetSpec.parse(path, scale="-10:10:0.05")
    assert DatasetSpec.from_dict(json.loads(json.dumps(spec.to_dict()))).scale == spec.scale
    with pytest.raises(DatasetError) as err:
        load_dataset(path, scale="0:5")
    assert err.value.column == "rating" and err.value.line == 2


def test_lone_outlier_is_noted(tmp_path):
    rows = grid(n_users=8, n_items=5)
    rows[7] = (rows[7][0], rows[7][1], 50)
    ds = load_dataset(write(tmp_path / "r.csv", csv_text(rows)))
    assert any("line 9" in n and "50" in n and "outside" in n for n in ds.notes)


# --------------------------------------------------------------------------- implicit (issue 8 section 4)
def test_click_log_without_rating_is_implicit_and_deduplicated(tmp_path):
    rows = [(f"u{k % 3}", f"i{k % 4}", 1433221934082 + k) for k in range(12)] + [("u0", "i0", 1)]
    ds = load_dataset(write(tmp_path / "clicks.csv", csv_text(rows, "user_id,item_id,timestamp")))
    assert ds.implicit and ds.summary()["implicit"]
    assert ds.scale == IMPLICIT_SCALE and set(ds.rating.tolist()) == {1.0}
    assert ds.n_ratings == 12 and any("merged" in n for n in ds.notes)
    assert ds.scale.relevance_threshold() <= 1.0


def test_all_equal_ratings_are_implicit_unless_a_scale_is_given(tmp_path):
    path = write(tmp_path / "r.csv", csv_text(grid(rating=lambda u, i: 5)))
    ds = load_dataset(path)
    assert ds.implicit and set(ds.rating.tolist()) == {1.0}
    assert any("every rating is 5" in n for n in ds.notes)
    ds = load_dataset(path, scale="1:5")
    assert not ds.implicit and ds.scale == RatingScale(1, 5, 1)
    assert any("every rating is 5" in n for n in ds.notes)


def test_single_user_or_item_is_noted(tmp_path):
    ds = load_dataset(write(tmp_path / "r.csv", "user,item,rating\nu1,a,4\nu1,b,2\n"))
    assert any("only 1 user" in n for n in ds.notes)


# --------------------------------------------------------------------------- 1. user features
def test_new_user_features_encode_to_known_codes_or_unknown(tmp_path):
    ds = load_dataset(write_100k(tmp_path / "ml", "utf-8"))
    assert ds.user_feature_fields == ["age", "gender", "occupation"]
    values = ds.user_feature_values()
    assert values["gender"] == ["F", "M"] and "technician" in values["occupation"]
    codes = ds.encode_user_features({"gender": "F", "occupation": "writer", "age": 24})
    card = ds.user_features.cardinalities
    assert codes.dtype == np.int64 and codes.shape == (3,)
    assert all(0 <= c < k for c, k in zip(codes, card, strict=True))
    assert codes[1] == values["gender"].index("F") + 1
    assert ds.encode_user_features({}).tolist() == [0, 0, 0]
    assert ds.encode_user_features(None).tolist() == [0, 0, 0]
    unseen = ds.encode_user_features({"gender": "X", "occupation": "astronaut", "age": None, "zip": "1"})
    assert unseen.tolist() == [0, 0, 0]
    assert ds.encode_user_features({"gender": "f"})[1] == codes[1]  # case-insensitive fallback
    # every known user's codes are within the embedding sizes, 0 reserved for unknown
    assert (ds.user_features.codes >= 0).all() and (ds.user_features.codes < np.array(card)).all()


def test_no_user_features_gives_empty_codes(tmp_path):
    ds = load_dataset(write(tmp_path / "r.csv", csv_text(grid())))
    assert ds.user_feature_fields == [] and ds.user_feature_values() == {}
    assert ds.encode_user_features({"gender": "F"}).shape == (0,)


def test_netflix_movie_block_repeated(tmp_path):
    text = "1:\n1,4,2005-01-01\n2,3,2005-01-02\n2:\n1,2,2005-01-01\n1:\n3,5,2005-01-03\n"
    ds = load_dataset(write(tmp_path / "probe.txt", text))
    assert (ds.n_users, ds.n_items, ds.n_ratings) == (3, 2, 4)
    assert any("Movie" in n or "by id" in n for n in ds.notes)
