"""Generic ratings tables: CSV / TSV / sniffed text / Parquet, mappings, preview and validation."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from core.data import (
    ColumnError,
    ColumnMapping,
    DatasetSpec,
    ItemTableMapping,
    RatingScale,
    describe_source,
    guess_mapping,
    load_dataset,
    load_table,
    preview_table,
    validate_mapping,
)

ROWS = [("u1", "B00A", 5, 1500000000), ("u2", "B00A", 3, 1500000100), ("u1", "B00C", 4, 1500000200),
        ("u3", "B00B", 1, 1500000300), ("u2", "B00C", 2, 1500000400)]  # fmt: skip
MAPPING = ColumnMapping("reviewer", "product", "stars", "when")


def write_text(path: Path, delimiter: str, header: bool = True) -> Path:
    lines = [delimiter.join(("reviewer", "product", "stars", "when"))] if header else []
    lines += [delimiter.join(str(v) for v in row) for row in ROWS]
    path.write_text("\n".join(lines) + "\n")
    return path


def check_rows(ds) -> None:
    assert (ds.n_users, ds.n_items, ds.n_ratings) == (3, 3, 5)
    assert list(ds.user_ids) == ["u1", "u2", "u3"] and list(ds.item_ids) == ["B00A", "B00B", "B00C"]
    items, ratings = ds.ratings_of(0)  # u1: B00A=5, B00C=4
    assert items.tolist() == [0, 2] and ratings.tolist() == [5.0, 4.0]
    assert ds.timestamp is not None and ds.timestamp.min() == 1500000000
    assert ds.scale == RatingScale(1.0, 5.0, 1.0)


@pytest.mark.parametrize(
    "name, delimiter",
    [("r.csv", ","), ("r.tsv", "\t"), ("r.txt", ";"), ("r.txt", "|"), ("r.dat", "::")],
)
def test_delimited_with_mapping(tmp_path, name, delimiter):
    path = write_text(tmp_path / name, delimiter)
    assert preview_table(path).attrs["delimiter"] == delimiter
    ds = load_table(path, MAPPING)
    check_rows(ds)
    assert ds.name == "r"


def test_headerless_file_uses_positional_names(tmp_path):
    path = write_text(tmp_path / "r.txt", "\t", header=False)
    frame = preview_table(path)
    assert list(frame.columns) == ["col1", "col2", "col3", "col4"]
    assert frame.attrs["has_header"] is False and len(frame) == 5
    ds = load_table(path, ColumnMapping("col1", "col2", "col3", "col4"))
    check_rows(ds)


def test_parquet(tmp_path):
    path = tmp_path / "r.parquet"
    cols = list(zip(*ROWS, strict=True))
    pq.write_table(
        pa.table({"reviewer": cols[0], "product": cols[1], "stars": cols[2], "when": cols[3],
                  "extra": ["x"] * 5}),
        path,
    )  # fmt: skip
    frame = preview_table(path, n=2)
    assert frame.attrs["format"] == "parquet"
    assert (
        list(frame.columns) == ["reviewer", "product", "stars", "when", "extra"] and len(frame) == 2
    )
    check_rows(load_table(path, MAPPING))
    assert validate_mapping(path, MAPPING) == []


def test_preview_shows_first_rows_as_text(tmp_path):
    path = tmp_path / "big.csv"
    path.write_text(
        "user,item,rating\n" + "".join(f"{i},{i % 7},{i % 5 + 1}\n" for i in range(500))
    )
    frame = preview_table(path, n=20)
    assert len(frame) == 20
    assert frame.iloc[3].tolist() == ["3", "3", "4"]
    assert frame.attrs == {
        "delimiter": ",",
        "has_header": True,
        "encoding": "utf-8",
        "format": "text",
    }


def test_preview_can_override_detection(tmp_path):
    path = write_text(tmp_path / "r.csv", ",")
    frame = preview_table(path, has_header=False)
    assert frame.iloc[0].tolist() == ["reviewer", "product", "stars", "when"]


@pytest.mark.parametrize(
    "columns, expected",
    [
        (["userId", "movieId", "rating", "timestamp"], ("userId", "movieId", "rating", "timestamp")),
        (["user_id", "item_id", "score"], ("user_id", "item_id", "score", None)),
        (["uid", "iid", "stars", "ts"], ("uid", "iid", "stars", "ts")),
        (["reviewerID", "asin", "overall", "unixReviewTime"],
         ("reviewerID", "asin", "overall", "unixReviewTime")),
        (["User", "Item", "Rating", "Date"], ("User", "Item", "Rating", "Date")),
        (["itemId", "userId", "time", "rating"], ("userId", "itemId", "rating", "time")),
    ],
)  # fmt: skip
def test_guess_mapping(columns, expected):
    m = guess_mapping(columns)
    assert m is not None and (m.user, m.item, m.rating, m.timestamp) == expected


def test_guess_mapping_without_a_rating_is_implicit():
    m = guess_mapping(["userId", "movieId", "tag"])
    assert m is not None and m.rating is None and m.implicit
    assert guess_mapping(["userId", "movieId", "tag"], implicit=False) is None
    assert guess_mapping(["col1", "col2", "col3"]) is None


def test_validate_mapping_ok_and_problems(tmp_path):
    path = write_text(tmp_path / "r.csv", ",")
    assert validate_mapping(path, MAPPING) == []
    problems = validate_mapping(path, ColumnMapping("reviewer", "product", "rating"))
    assert len(problems) == 1
    assert (
        "no column 'rating'" in problems[0] and "'stars'" in problems[0] and "'when'" in problems[0]
    )
    same = validate_mapping(path, ColumnMapping("reviewer", "reviewer", "stars"))
    assert any("both user and item" in p for p in same)
    strict = ColumnMapping("reviewer", "product", "stars", scale=RatingScale(1, 4, 1))
    assert validate_mapping(path, strict) == ["line 2: rating 5 is outside the scale 1..4"]
    text = validate_mapping(path, ColumnMapping("reviewer", "stars", "product"))
    assert text == ["line 2: rating 'B00A' is not a number (column 'product')"]
    assert "choose the user column" in validate_mapping(path, ColumnMapping("", "product", "stars"))
    gap = tmp_path / "gap.csv"
    gap.write_text("u,i,r\n1,1,\n1,2,9\n")
    assert validate_mapping(gap, ColumnMapping("u", "i", "r", scale=RatingScale(1, 5, 1))) == [
        "line 2: rating is missing (column 'r')",
        "line 3: rating 9 is outside the scale 1..5",
    ]


def test_validate_mapping_reports_unreadable_files(tmp_path):
    assert "file not found" in validate_mapping(tmp_path / "missing.csv", MAPPING)[0]
    bad = tmp_path / "r.csv"
    bad.write_bytes("user,item,rating\n1,2,3\n".encode("utf-16"))
    assert "not readable text" in validate_mapping(bad, MAPPING)[0]


def test_item_table_mapping(tmp_path):
    path = write_text(tmp_path / "r.csv", ",")
    items = tmp_path / "products.tsv"
    items.write_text(
        "sku\tname\tcategories\treleased\n"
        "B00A\tKettle\tKitchen, Home\t2011\nB00B\tLamp\tHome\t2014\nB00C\tPan\tKitchen\t2012\n"
        "B00Z\tUnrated\tGarden\t2001\n"
    )
    mapping = ColumnMapping(
        "reviewer", "product", "stars", "when",
        item_table=ItemTableMapping(str(items), "sku", "name", "categories", "released",
                                    genre_separator=","),
    )  # fmt: skip
    assert validate_mapping(path, mapping) == []
    ds = load_table(path, mapping, name="Shop")
    assert ds.name == "Shop"
    # B00Z nobody reviewed: in the catalogue after the rated items, with its features.
    assert ds.items["title"].tolist() == ["Kettle", "Lamp", "Pan", "Unrated"]
    assert ds.items["genres"].tolist() == ["Kitchen|Home", "Home", "Kitchen", "Garden"]
    assert ds.items["year"].tolist() == [2011, 2014, 2012, 2001]
    assert ds.item_ids.tolist() == ["B00A", "B00B", "B00C", "B00Z"]
    assert ds.item_features.genre_names == ["Garden", "Home", "Kitchen"]
    wrong = ColumnMapping("reviewer", "product", "stars",
                          item_table=ItemTableMapping(str(items), "id", "name"))  # fmt: skip
    problems = validate_mapping(path, wrong)
    assert len(problems) == 1 and "no column 'id'" in problems[0] and "'sku'" in problems[0]


def test_date_timestamps_become_seconds(tmp_path):
    path = tmp_path / "r.csv"
    path.write_text("user,item,rating,date\n1,1,4,2020-01-01\n1,2,3,2020-01-02 00:00:10\n")
    ds = load_dataset(path)
    assert ds.timestamp.tolist() == [1577836800, 1577923210]


def test_numeric_ids_and_half_stars_infer_scale(tmp_path):
    path = tmp_path / "r.csv"
    path.write_text("userId,movieId,rating\n10,5,4.5\n2,5,1.0\n10,7,3.5\n2,7,4.0\n")
    ds = load_dataset(path)
    assert ds.user_ids.tolist() == [2, 10] and ds.user_ids.dtype.kind == "i"
    assert ds.scale == RatingScale(1.0, 4.5, 0.5)


def test_load_dataset_guesses_or_asks_for_a_mapping(tmp_path):
    good = tmp_path / "good.csv"
    good.write_text("user_id,item_id,score\n1,1,3\n2,1,4\n")
    assert load_dataset(good).n_ratings == 2
    odd = tmp_path / "odd.csv"
    odd.write_text("a,b,c\n1,1,3\n")
    with pytest.raises(ColumnError) as info:
        load_dataset(odd)
    assert "odd.csv" in str(info.value) and "'a', 'b', 'c'" in str(info.value)
    assert "mapping" in str(info.value)
    assert load_dataset(odd, mapping=ColumnMapping("a", "b", "c")).n_ratings == 1


def test_mapping_and_spec_round_trip(tmp_path):
    path = write_text(tmp_path / "r.csv", ",")
    mapping = ColumnMapping("reviewer", "product", "stars", scale=RatingScale(1, 5, 1),
                            item_table=ItemTableMapping("items.csv", "id", "title"))  # fmt: skip
    assert ColumnMapping.from_dict(mapping.to_dict()) == mapping
    spec = DatasetSpec("table", path=str(path), name="x", mapping=mapping)
    again = DatasetSpec.from_dict(spec.to_dict())
    assert again == spec


def test_describe_source_for_tables(tmp_path):
    path = write_text(tmp_path / "r.tsv", "\t")
    assert describe_source(path) == (
        "Tab-separated table (columns: reviewer, product, stars, when)"
    )
    ml = tmp_path / "ml.csv"
    ml.write_text("userId,movieId,rating\n1,2,3\n")
    assert describe_source(ml) == (
        "Comma-separated table (columns: userId, movieId, rating; user=userId, item=movieId, "
        "rating=rating)"
    )


def test_large_table_reads_all_rows(tmp_path):
    """Larger than one pyarrow block and one 64 KB sample: nothing is lost or reordered."""
    rng = np.random.default_rng(0)
    n = 200_000
    users, items = rng.integers(0, 5000, n), rng.integers(0, 3000, n)
    pairs = np.unique(users.astype(np.int64) * 3000 + items)
    ratings = rng.integers(1, 6, len(pairs))
    path = tmp_path / "big.csv"
    with open(path, "w") as f:
        f.write("user,item,rating\n")
        f.writelines(f"{p // 3000},{p % 3000},{r}\n" for p, r in zip(pairs, ratings, strict=True))
    ds = load_dataset(path)
    assert ds.n_ratings == len(pairs) and not ds.notes
    assert float(ds.rating.sum()) == float(ratings.sum())


def test_header_names_are_trimmed(tmp_path):
    path = tmp_path / "r.csv"
    path.write_text("user, item , rating\n1, 2, 3\n2, 2, 4\n")
    assert list(preview_table(path).columns) == ["user", "item", "rating"]
    ds = load_dataset(path)
    assert ds.n_ratings == 2 and ds.rating.tolist() == [3.0, 4.0]
