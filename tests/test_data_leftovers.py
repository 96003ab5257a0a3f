"""Loose ends of data input: a .zip holding one table (or one too deep, said so), backslash-escaped
quotes detected, missing users in a user's files refused alike, and the cached ratings per user."""

from __future__ import annotations

import copy
import hashlib
import pickle
import zipfile
from pathlib import Path

import numpy as np
import pytest

from core.cli import main
from core.data import (
    ColumnError,
    ColumnMapping,
    DatasetError,
    DatasetSpec,
    FormatError,
    ItemTableMapping,
    ValueProblem,
    describe_source,
    load_dataset,
    preview_table,
)
from core.data.sniff import sniff_escape
from core.data.table import open_table
from core.userfiles import read_user_items, read_user_ratings

CLICKS = "user_id,item_id,timestamp\n" + "".join(
    f"u{u},i{(u * 3 + k) % 7},{1_600_000_000 + 10 * u + k}\n" for u in range(6) for k in range(3)
)
TSV = "user\titem\trating\n" + "".join(
    f"{u}\t{100 + (u + k) % 5}\t{1 + (u * k) % 5}\n" for u in range(5) for k in range(4)
)
JSONL = "".join(
    f'{{"user_id": "r{u}", "business_id": "b{(u + k) % 4}", "stars": {1 + (u + k) % 5}, '
    f'"text": "ok"}}\n'
    for u in range(5)
    for k in range(3)
)


def zip_of(path: Path, members: dict[str, str | bytes]) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return path


def error_of(source, **kwargs) -> DatasetError:
    with pytest.raises(DatasetError) as err:
        load_dataset(source, **kwargs)
    return err.value


# --------------------------------------------------------------------------- 1. a zip of one table
@pytest.mark.parametrize(
    ("member", "text"),
    [("clicks.csv", CLICKS), ("export/ratings.tsv", TSV), ("reviews.jsonl", JSONL)],
)
def test_a_zip_of_one_table_loads_as_that_table(tmp_path, member, text):
    plain = tmp_path / Path(member).name
    plain.write_text(text)
    archive = zip_of(tmp_path / "data.zip", {
        member: text,
        "README.txt": "what these columns mean",  # documentation and macOS metadata are not tables
        "__MACOSX/._" + Path(member).name: b"\x00\x05\x16\x07",
        ".DS_Store": b"\x00\x00\x00\x01Bud1",
    })  # fmt: skip
    expected = load_dataset(plain)
    got = load_dataset(archive)
    assert got.fingerprint == expected.fingerprint
    assert (got.n_users, got.n_items, got.n_ratings) == (
        expected.n_users, expected.n_items, expected.n_ratings)  # fmt: skip
    assert got.implicit == expected.implicit and got.scale == expected.scale
    assert got.notes == expected.notes and got.name == expected.name
    assert got.source == str(archive)  # the spec reloads it from the zip
    assert DatasetSpec.parse(str(archive)).kind == "table"
    # The app's "MovieLens folder or zip" source gives the same zip the same way.
    assert load_dataset(DatasetSpec("movielens", path=str(archive))).fingerprint == got.fingerprint
    shown = describe_source(archive)
    assert member in shown and "MovieLens" not in shown


def test_a_zip_table_is_read_with_the_same_mapping_and_messages(tmp_path):
    text = "who\tasin\tstars\n" + "".join(f"p{u}\tA{k}\t{1 + (u + k) % 5}\n"
                                          for u in range(4) for k in range(3))  # fmt: skip
    archive = zip_of(tmp_path / "reviews.zip", {"reviews.tsv": text})
    mapping = ColumnMapping("who", "asin", "stars")
    got = load_dataset(archive, mapping)
    assert got.n_ratings == 12 and not got.implicit
    assert preview_table(archive, 2)["asin"].tolist() == ["A0", "A1"]

    plain = tmp_path / "reviews.tsv"
    plain.write_text(text)
    for wrong in (ColumnMapping("who", "product", "stars"), None):
        if wrong is None:  # nothing guessable: the columns are listed
            plain.write_text(text.replace("who", "a").replace("asin", "b"))
            archive = zip_of(tmp_path / "reviews.zip", {"reviews.tsv": plain.read_text()})
        on_disk, zipped = error_of(plain, mapping=wrong), error_of(archive, mapping=wrong)
        assert type(zipped) is type(on_disk) is ColumnError
        assert zipped.problem == on_disk.problem
        assert zipped.path == f"{archive}!/reviews.tsv" and on_disk.path == str(plain)


def test_a_bad_line_in_a_zip_table_names_the_member_and_the_line(tmp_path, capsys):
    text = "user,item,rating\n1,10,4\n\n2,11,five\n3,12,2\n"
    plain = tmp_path / "r.csv"
    plain.write_text(text)
    archive = zip_of(tmp_path / "r.zip", {"r.csv": text})
    on_disk, zipped = error_of(plain), error_of(archive)
    assert isinstance(zipped, ValueProblem) and zipped.problem == on_disk.problem
    assert (zipped.line, zipped.column) == (on_disk.line, on_disk.column) == (4, "rating")
    assert zipped.path == f"{archive}!/r.csv"
    assert main(["inspect", str(archive)]) == 2
    err = capsys.readouterr().err
    assert f"{archive}!/r.csv, line 4" in err and "Traceback" not in err


def test_a_zip_of_several_tables_is_refused_listing_them(tmp_path, capsys):
    archive = zip_of(tmp_path / "goodbooks.zip", {
        "goodbooks/ratings.csv": "user_id,book_id,rating\n1,2,3\n2,2,4\n",  # not MovieLens
        "goodbooks/books.csv": "book_id,title\n2,Dune\n",
        "goodbooks/to_read.csv": "user_id,book_id\n1,2\n",
        "goodbooks/README.md": "about",
    })  # fmt: skip
    err = error_of(archive)
    assert isinstance(err, FormatError) and err.path == str(archive)
    assert "3 tables" in err.problem and "README" not in err.problem
    for name in ("goodbooks/ratings.csv", "goodbooks/books.csv", "goodbooks/to_read.csv"):
        assert name in err.problem
    assert "unzip" in (err.hint or "") and "choose one" in (err.hint or "")
    assert describe_source(archive).startswith("Cannot use: the zip archive holds 3 tables")
    assert main(["inspect", str(archive)]) == 2
    out = capsys.readouterr().err
    assert "goodbooks/to_read.csv" in out and "Traceback" not in out and out.count("\n") == 1


def test_a_zip_of_one_non_movielens_ratings_csv_is_a_table_and_movielens_stays(tmp_path):
    goodbooks = zip_of(tmp_path / "gb.zip", {"ratings.csv": "user_id,book_id,rating\n"
                                             "1,2,3\n1,3,5\n2,2,4\n"})  # fmt: skip
    got = load_dataset(goodbooks)
    assert (got.n_users, got.n_items) == (2, 2) and list(got.item_ids) == [2, 3]
    movielens = zip_of(tmp_path / "ml.zip", {"ml/ratings.csv": "userId,movieId,rating,timestamp\n"
                                             "1,2,3,0\n1,3,5,0\n2,2,4,0\n"})  # fmt: skip
    assert DatasetSpec.parse(str(movielens)).kind == "movielens"
    assert load_dataset(movielens).name.startswith("MovieLens")


def test_a_zip_with_no_table_keeps_the_movielens_message(tmp_path):
    archive = zip_of(tmp_path / "docs.zip", {"README.md": "x", "logo.png": b"\x89PNG"})
    err = error_of(archive)
    assert "not a recognised MovieLens layout" in err.problem and "logo.png" in (err.hint or "")


def test_a_table_deeper_than_one_folder_says_so(tmp_path, capsys):
    archive = zip_of(tmp_path / "export.zip", {"a/b/clicks.csv": CLICKS, "a/README.txt": "x"})
    err = error_of(archive)
    assert isinstance(err, FormatError) and err.path == str(archive)
    assert "holds a table deeper than one folder (a/b/clicks.csv)" in err.problem
    assert "MovieLens" not in err.message and err.hint == "unzip it and give the file"
    assert describe_source(archive).startswith("Cannot use: the zip archive holds a table deeper")
    assert main(["inspect", str(archive)]) == 2
    out = capsys.readouterr().err
    assert "a/b/clicks.csv" in out and "unzip" in out and "Traceback" not in out
    # Several deep tables are listed; a table one folder down still wins over deep ones.
    many = zip_of(tmp_path / "many.zip", {"x/y/one.csv": CLICKS, "x/y/z/two.tsv": TSV})
    assert "holds tables deeper than one folder (x/y/one.csv, x/y/z/two.tsv)" in error_of(
        many).problem
    mixed = zip_of(tmp_path / "mixed.zip", {"top/clicks.csv": CLICKS, "top/old/b/x.csv": TSV})
    assert load_dataset(mixed).n_ratings == 18


def test_a_movielens_release_too_deep_keeps_the_movielens_message(tmp_path):
    archive = zip_of(tmp_path / "ml.zip", {
        "downloads/2024/ml-latest/ratings.csv": "userId,movieId,rating\n1,2,3\n",
        "README.md": "x",
    })  # fmt: skip
    err = error_of(archive)
    assert "not a recognised MovieLens layout" in err.problem
    assert "deeper than one folder" in (err.hint or "")
    assert "give the folder downloads/2024/ml-latest" in (err.hint or "")


def test_loading_a_zip_table_leaves_the_zip_unchanged(tmp_path):
    archive = zip_of(tmp_path / "clicks.zip", {"clicks.csv": CLICKS})
    bad = zip_of(tmp_path / "bad.zip", {"bad.csv": "user,item,rating\n1,2,x\n"})
    before = {p: (hashlib.sha256(p.read_bytes()).hexdigest(), p.stat().st_mtime_ns)
              for p in (archive, bad)}  # fmt: skip
    load_dataset(archive)
    preview_table(archive)
    with pytest.raises(DatasetError):
        load_dataset(bad)
    after = {p: (hashlib.sha256(p.read_bytes()).hexdigest(), p.stat().st_mtime_ns)
             for p in (archive, bad)}  # fmt: skip
    assert before == after and sorted(p.name for p in tmp_path.iterdir()) == ["bad.zip",
                                                                              "clicks.zip"]


# --------------------------------------------------------------------------- 2. backslash escapes
BOOKS = (
    '"ISBN";"Book-Title";"Book-Author";"Year-Of-Publication"\n'
    '"034545104X";"Harry \\"Potter\\"; the boy";"J. K.";"1999"\n'
    '"0155061224";"Plain \\"title\\"";"Someone";"2001"\n'
    '"0002005018";"Clara Callan";"Richard Bruce Wright";"2001"\n'
)
BX_RATINGS = (
    '"User-ID";"ISBN";"Book-Rating"\n"1";"034545104X";"5"\n"2";"0155061224";"7"\n'
    '"1";"0002005018";"3"\n"3";"034545104X";"8"\n'
)


def test_backslash_escaped_quotes_are_detected_with_a_note(tmp_path):
    (tmp_path / "BX-Books.csv").write_text(BOOKS)
    (tmp_path / "BX-Book-Ratings.csv").write_text(BX_RATINGS)
    books = ItemTableMapping(str(tmp_path / "BX-Books.csv"), "ISBN", "Book-Title")
    mapping = ColumnMapping("User-ID", "ISBN", "Book-Rating", item_table=books)
    ds = load_dataset(tmp_path / "BX-Book-Ratings.csv", mapping)
    titles = dict(zip(ds.items["item_id"], ds.items["title"], strict=True))
    assert titles == {"034545104X": 'Harry "Potter"; the boy', "0155061224": 'Plain "title"',
                      "0002005018": "Clara Callan"}  # ISBNs keep their leading 0  # fmt: skip
    notes = [n for n in ds.notes if "backslash" in n]
    assert len(notes) == 1 and notes[0].startswith("BX-Books.csv:")
    assert preview_table(tmp_path / "BX-Books.csv")["Book-Title"][0] == 'Harry "Potter"; the boy'
    # Given explicitly, it is used as before, and nothing is said.
    given = load_dataset(tmp_path / "BX-Book-Ratings.csv",
                         ColumnMapping("User-ID", "ISBN", "Book-Rating",
                                       item_table=ItemTableMapping(books.path, "ISBN", "Book-Title",
                                                                   escape="\\")))  # fmt: skip
    assert given.fingerprint == ds.fingerprint and not any("backslash" in n for n in given.notes)
    off = open_table(tmp_path / "BX-Books.csv", escape="")  # detection turned off
    assert off.spec is not None and off.spec.escape is None and not off.notes


def test_backslash_escaped_ids_in_a_ratings_file(tmp_path):
    path = tmp_path / "r.csv"
    path.write_text('user,item,rating\n"a","Say \\"hi\\"",4\n"b","Say \\"hi\\"",2\n'
                    '"a","x, \\"y\\"",5\n"c","plain",1\n')  # fmt: skip
    ds = load_dataset(path)
    assert sorted(ds.item_ids) == ["Say \"hi\"", "plain", 'x, "y"']
    assert any("backslash-escaped quotes" in n for n in ds.notes)
    assert main(["inspect", str(path)]) == 0


def test_literal_backslashes_are_not_taken_for_escapes(tmp_path):
    path = tmp_path / "bands.csv"
    path.write_text(
        "user,item,rating,file\n"
        '1,AC\\DC,5,"C:\\music\\"\n'  # a Windows folder: the quoted field ends in a backslash
        '2,"AC\\DC",4,"C:\\music\\acdc.mp3"\n'
        '1,"Say ""hi""",3,"D:\\"\n'  # quotes doubled, as CSV writers do
        '3,"Say ""hi""",2,\\\\server\\share\n'
    )
    table = open_table(path)
    assert table.spec is not None and table.spec.escape is None and not table.notes
    ds = load_dataset(path)
    assert sorted(ds.item_ids) == ["AC\\DC", 'Say "hi"']
    assert not any("backslash" in n for n in ds.notes)


@pytest.mark.parametrize(
    ("text", "delimiter", "escaped"),
    [
        ('"a";"Harry \\"Potter\\"";"5"\n', ";", True),
        ('a,"{\\"k\\": 1}",5\n', ",", True),  # JSON written into a field by a backslash writer
        ('a,"AC\\DC",5\n', ",", False),
        ('a,"C:\\dir\\",5\n', ",", False),  # reads cleanly only with doubled quotes
        ('a,"C:\\dir\\","b"\n', ",", False),
        ('a,"Say ""hi\\""",5\n', ",", False),
        ('a,"\\"open\n', ",", False),  # open at the end of the sample: no evidence either way
        ("a,b\\c,5\n", ",", False),
    ],
)
def test_sniff_escape(text, delimiter, escaped):
    assert sniff_escape(text * 3, delimiter) is escaped


# --------------------------------------------------------------------------- 3. users in user files
@pytest.fixture
def small(tmp_path):
    path = tmp_path / "data.csv"
    path.write_text("user,item,rating\n" + "".join(f"u{u},{i},{1 + (u + i) % 5}\n"
                                                   for u in range(4) for i in range(1, 6)))
    return load_dataset(path)


@pytest.mark.parametrize("user", ["", "   ", "nan", "NaN"])
def test_a_missing_user_is_refused_alike_in_ratings_and_queries(small, tmp_path, user):
    ratings, query = tmp_path / "support.csv", tmp_path / "query.csv"
    ratings.write_text(f"user,item,rating\nann,1,4\n{user},2,3\n")
    query.write_text(f"user,item\nann,1\n{user},2\n")
    errors = []
    for read, path in ((read_user_ratings, ratings), (read_user_items, query)):
        with pytest.raises(ValueProblem) as err:
            read(path, small)
        assert (err.value.path, err.value.line, err.value.column) == (str(path), 3, "user")
        errors.append(err.value.problem)
    assert errors[0] == errors[1]
    assert errors[0] == ("the user is empty" if not user.strip() else f"the user is missing ('{user}')")


def test_users_are_the_same_text_in_ratings_and_queries(small, tmp_path):
    ratings, query = tmp_path / "support.csv", tmp_path / "query.csv"
    ratings.write_text("user,item,rating\n ann ,1,4\nNan,2,3\n007,3,5\n")
    query.write_text("user,item\nann ,4\n Nan,5\n007,1\n")
    support, wanted = read_user_ratings(ratings, small), read_user_items(query, small)
    assert support.users == list(wanted.items) == ["ann", "Nan", "007"]
    query.write_text("user,item\nann,4\nbob,\n")
    with pytest.raises(ValueProblem, match="line 3, column 'item': the item is empty"):
        read_user_items(query, small)


# --------------------------------------------------------------------------- 4. ratings per user
def test_ratings_per_user_is_right_cached_and_read_only(small):
    counts = small.ratings_per_user
    assert counts.tolist() == np.bincount(small.user, minlength=small.n_users).tolist() == [5] * 4
    again = small.ratings_per_user
    assert again is counts and np.array_equal(again, counts)
    with pytest.raises(ValueError):
        counts[0] = 99  # shared by every caller: nobody may change it for the others
    assert small.ratings_per_user.tolist() == [5] * 4
    assert small.summary()["ratings_per_user"]["max"] == 5


def test_assigning_the_ratings_drops_what_was_derived_from_them():
    ds = load_dataset("synthetic:n_users=30,n_items=40,seed=2")
    before, fingerprint = ds.ratings_per_user.copy(), ds.fingerprint
    keep = ds.user != 0  # user 0 loses every rating
    ds.user, ds.item, ds.rating = ds.user[keep], ds.item[keep], ds.rating[keep]
    assert ds.ratings_per_user[0] == 0 and ds.ratings_per_user[1:].tolist() == before[1:].tolist()
    assert ds.ratings_per_user.sum() == ds.n_ratings == ds.user_offsets[-1]
    assert ds.fingerprint != fingerprint
    # Copies (the isolated loader's hand-off) and pickles keep the values, which stay right.
    for clone in (copy.copy(ds), pickle.loads(pickle.dumps(ds))):
        assert np.array_equal(clone.ratings_per_user, ds.ratings_per_user)
        assert clone.fingerprint == ds.fingerprint


def test_a_users_own_ratings_given_as_a_zip_say_to_extract_them(small, tmp_path):
    zipped = zip_of(tmp_path / "mine.zip", {"mine.csv": "item,rating\n1,4\n"})
    with pytest.raises(DatasetError) as err:
        read_user_ratings(zipped, small)
    assert "zip archive" in str(err.value) and "extract the table" in str(err.value)
    assert "name it .zip" not in str(err.value)
