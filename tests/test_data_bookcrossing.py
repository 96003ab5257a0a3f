"""Book-Crossing-shaped inputs: backslash-escaped quotes that must not eat other backslashes,
item titles carried by the ratings table, rated items the item table lacks, and errors that name
the file's own columns."""

from __future__ import annotations

import io
import json

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from core.cli import main
from core.data import (
    ColumnMapping,
    DatasetError,
    FormatError,
    ItemTableMapping,
    ValueProblem,
    escapes,
    load_dataset,
    preview_table,
    reader,
    validate_mapping,
)
from core.data.escapes import EscapedQuotes, unescape_quotes
from core.data.sniff import split_line
from core.data.table import open_table

# --------------------------------------------------------------------------- 1. escapes
BX = (
    '"User-ID";"ISBN";"Book-Rating";"Book-Title"\n'
    '"1";"AC\\DC Live";"5";"Classical \\"Mythology\\""\n'
    '"2";"C:\\data";"3";"Paths"\n'
    '"3";"AC\\DC Live";"4";"Classical \\"Mythology\\""\n'
    '"3";"\\\\server\\share";"2";"Ends in a backslash \\\\"\n'
    '"4";"C:\\data";"1";"Paths"\n'
)


def test_escaped_quotes_leave_every_other_backslash_as_written(tmp_path):
    path = tmp_path / "BX-combined.csv"
    path.write_text(BX)
    ds = load_dataset(path)
    assert sorted(ds.item_ids) == ["AC\\DC Live", "C:\\data", "\\\\server\\share"]
    titles = dict(zip(ds.items["item_id"], ds.items["title"], strict=True))
    assert titles == {
        "AC\\DC Live": 'Classical "Mythology"',
        "C:\\data": "Paths",
        "\\\\server\\share": "Ends in a backslash \\\\",  # \\" closes the field: kept as written
    }
    assert ds.n_ratings == 5 and sorted(ds.user_ids) == [1, 2, 3, 4]
    assert any("backslash-escaped quotes" in n and "kept as written" in n for n in ds.notes)
    # The dialog's preview splits the rows the same way.
    preview = preview_table(path)
    assert preview["ISBN"].tolist()[:3] == ["AC\\DC Live", "C:\\data", "AC\\DC Live"]
    assert preview["Book-Title"][0] == 'Classical "Mythology"'
    assert preview["Book-Title"][3] == "Ends in a backslash \\\\"


def test_given_escape_is_read_the_same_way(tmp_path):
    path = tmp_path / "r.psv"
    path.write_text(BX.replace('";"', '"|"'))
    mapping = ColumnMapping("User-ID", "ISBN", "Book-Rating", escape="\\", delimiter="|")
    ds = load_dataset(path, mapping)
    assert sorted(ds.item_ids) == ["AC\\DC Live", "C:\\data", "\\\\server\\share"]
    assert titles_of(ds)["AC\\DC Live"] == 'Classical "Mythology"'
    # '::' separated (read through an in-memory copy) too.
    path = tmp_path / "r.dat"
    path.write_text('u::i::r\n1::"AC\\DC \\"x\\""::4\n2::"C:\\d"::3\n')
    ds = load_dataset(path, ColumnMapping("u", "i", "r", escape="\\"))
    assert ds.item_ids.tolist() == ['AC\\DC "x"', "C:\\d"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('"a";"Say \\"hi\\"";"5"\n', '"a";"Say ""hi""";"5"\n'),
        ('"a";"AC\\DC";"C:\\x\\\\"\n', '"a";"AC\\DC";"C:\\x\\\\"\n'),  # nothing escaped
        ('a;b\\"c;"d"\n', 'a;b\\"c;"d"\n'),  # not a quoted field: the quote is literal
        ('"";"a""b";"\\""\n', '"";"a""b";""""\n'),  # doubled quotes and empty fields kept
        ('"a\\\\\\"b"\n', '"a\\\\""b"\n'),  # \\ then \": two backslashes and a quote
        ('"two\nlines \\"q\\"";x\n', '"two\nlines ""q""";x\n'),  # a field over two lines
        ('"open \\"end', '"open \\"end'),  # never closed: left as is, for the reader
    ],
)
def test_unescape_quotes(text, expected):
    assert unescape_quotes(text, ";") == expected
    stream = EscapedQuotes(io.BytesIO(text.encode()), ";")
    assert stream.read() == expected.encode()


def test_rewriting_does_not_depend_on_where_chunks_end(monkeypatch):
    rows = [f'"{i}";"id\\{i}";"T \\"{i}\\"\nnext\\\\";"x""y";z\\"w\n' for i in range(40)]
    text = "".join(rows).encode()
    whole = EscapedQuotes(io.BytesIO(text), ";").read()
    assert whole.count(b'""') == 40 * 3 and whole.count(b"\\") == 40 * 4
    for size in (1, 2, 3, 5, 7, 64):
        monkeypatch.setattr(escapes, "CHUNK", size)
        assert EscapedQuotes(io.BytesIO(text), ";").read() == whole, size


def test_escaped_file_over_many_chunks_loads_and_bad_lines_are_found(tmp_path, monkeypatch):
    monkeypatch.setattr(escapes, "CHUNK", 97)  # many chunk ends, inside quoted fields too
    names = ["Say \\\"hi\\\"", "AC\\DC", "AC\\DC"]  # as written: Say \"hi\", AC\DC
    lines = ['"User-ID";"ISBN";"Book-Rating"'] + [
        f'"{u}";"{names[u % 3]} {u % 50}";"{1 + u % 5}"' for u in range(2000)
    ]
    path = tmp_path / "big.csv"
    path.write_text("\n".join(lines) + "\n")
    ds = load_dataset(path)
    assert ds.n_ratings == 2000
    assert {"AC\\DC 1", 'Say "hi" 0'} <= set(ds.item_ids)
    lines[1500] = '"1499";"Say \\"hi\\" 1"'  # a field short
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(FormatError) as err:
        load_dataset(path)
    assert err.value.line == 1501 and "expected 3 fields" in err.value.problem


def test_files_without_escapes_keep_the_fast_native_read(tmp_path, monkeypatch):
    path = tmp_path / "plain.csv"
    path.write_text('user;item;rating\n1;"AC\\DC";5\n2;"C:\\data\\";4\n3;"x";3\n')
    table = open_table(path)
    assert table.spec is not None and table.spec.escape is None and not table.notes
    assert reader._native(table.src, table.spec)

    def refuse(*args, **kwargs):
        raise AssertionError("a file without escapes must not be rewritten")

    monkeypatch.setattr(reader, "EscapedQuotes", refuse)
    ds = load_dataset(path)
    assert sorted(ds.item_ids) == ["AC\\DC", "C:\\data\\", "x"]


def test_split_line_with_an_escape_keeps_backslashes():
    line = '"1";"AC\\DC";"Harry \\"Potter\\"; the boy";"C:\\dir\\\\"'
    assert split_line(line, ";", "\\") == ["1", "AC\\DC", 'Harry "Potter"; the boy', "C:\\dir\\\\"]


# --------------------------------------------------------------------------- 2. titles in ratings
COMBINED = (
    '"User-ID";"ISBN";"Book-Rating";"Book-Title";"Book-Author"\n'
    '"1";"0195153448";"5";"Classical Mythology";"Mark P. O. Morford"\n'
    '"2";"0002005018";"3";"Clara Callan";"Richard Bruce Wright"\n'
    '"3";"0195153448";"4";"Classical Mythology (2nd ed.)";"Mark P. O. Morford"\n'
    '"3";"0060973129";"2";"";"Carlo D\'Este"\n'
    '"4";"0060973129";"1";"Decision in Normandy";"Carlo D\'Este"\n'
    '"4";"0374157065";"7";"   ";"Ann Beattie"\n'
)


def titles_of(ds) -> dict:
    return dict(zip(ds.items["item_id"], ds.items["title"], strict=True))


def test_a_title_column_of_the_ratings_names_the_items(tmp_path):
    path = tmp_path / "bx.csv"
    path.write_text(COMBINED)
    ds = load_dataset(path)
    assert titles_of(ds) == {
        "0195153448": "Classical Mythology",  # the first title in the file is kept
        "0002005018": "Clara Callan",
        "0060973129": "Decision in Normandy",  # the first non-empty one
        "0374157065": "Item 0374157065",  # none given
    }
    notes = "\n".join(ds.notes)
    assert "item titles from column 'Book-Title' of bx.csv" in notes
    assert "1 item(s) have different titles in column 'Book-Title'" in notes
    assert "0195153448: 'Classical Mythology' / 'Classical Mythology (2nd ed.)'" in notes
    assert "1 item(s) have no title in column 'Book-Title'" in notes
    assert ds.n_ratings == 6  # nothing merged or dropped


def test_titles_with_a_year_and_the_guessed_mapping(tmp_path, capsys):
    path = tmp_path / "views.csv"
    path.write_text("user,item,rating,title\n1,10,4,Heat (1995)\n2,10,5,Heat (1995)\n"
                    "2,20,3,Casino (1995)\n3,30,2,Up\n")  # fmt: skip
    ds = load_dataset(path)
    assert ds.items["title"].tolist() == ["Heat", "Casino", "Up"]
    assert ds.items["year"].tolist()[:2] == [1995, 1995]
    assert main(["inspect", str(path), "--columns", "user=user,item=item,rating=rating"]) == 0
    assert "item titles from column 'title' of views.csv" in capsys.readouterr().out


def test_a_per_rating_title_is_not_taken_for_the_items(tmp_path):
    rows = [{"user_id": f"u{u}", "asin": f"B{i}", "rating": 1 + (u + i) % 5,
             "title": f"review {u}-{i}"} for u in range(6) for i in range(6)]  # fmt: skip
    path = tmp_path / "reviews.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    ds = load_dataset(path)
    assert ds.items["title"].tolist() == [f"Item B{i}" for i in range(6)]
    note = next(n for n in ds.notes if "column 'title'" in n)
    assert "not used for item titles" in note and "6 of the 6 items" in note


def test_with_an_item_table_a_title_column_of_the_ratings_is_noted_as_unused(tmp_path):
    (tmp_path / "bx.csv").write_text(COMBINED)
    (tmp_path / "books.csv").write_text('"ISBN";"Title";"Year"\n"0195153448";"From the table";'
                                        '"2002"\n')  # fmt: skip
    books = ItemTableMapping(str(tmp_path / "books.csv"), "ISBN", "Title")
    ds = load_dataset(tmp_path / "bx.csv", ColumnMapping("User-ID", "ISBN", "Book-Rating",
                                                          item_table=books))  # fmt: skip
    assert titles_of(ds)["0195153448"] == "From the table"
    assert ("column 'Book-Title' of bx.csv not used: item titles come from the item table "
            "books.csv") in ds.notes  # fmt: skip


def test_the_mapping_chooses_or_refuses_the_title_column(tmp_path):
    path = tmp_path / "r.csv"
    path.write_text("u,i,r,title,product_name\n1,a,4,T-a,Name a\n2,b,3,T-b,Name b\n")
    ds = load_dataset(path, ColumnMapping("u", "i", "r"))
    assert ds.items["title"].tolist() == ["T-a", "T-b"]
    assert ("column 'product_name' of r.csv not used for item titles (titles come from column "
            "'title')") in ds.notes  # fmt: skip
    chosen = ColumnMapping("u", "i", "r", title="product_name")
    assert ColumnMapping.from_dict(json.loads(json.dumps(chosen.to_dict()))) == chosen
    assert load_dataset(path, chosen).items["title"].tolist() == ["Name a", "Name b"]
    off = load_dataset(path, ColumnMapping("u", "i", "r", title=""))
    assert off.items["title"].tolist() == ["Item a", "Item b"]
    assert any("'title', 'product_name' of r.csv not used" in n for n in off.notes)
    assert validate_mapping(path, ColumnMapping("u", "i", "r", title="name"))[0].startswith(
        "r.csv: no column 'name' for the title")
    # The app builds mappings positionally: unchanged, with the title detected.
    positional = ColumnMapping("u", "i", "r", None, None, None, None, None)
    assert positional.title is None and load_dataset(path, positional).items["title"][0] == "T-a"


def test_an_empty_title_column_is_noted(tmp_path):
    path = tmp_path / "r.csv"
    path.write_text("user,item,rating,Book-Title\n1,a,4,\n2,b,3, \n")
    ds = load_dataset(path)
    assert ds.items["title"].tolist() == ["Item a", "Item b"]
    assert any("'Book-Title' of r.csv looks like item titles but is empty" in n for n in ds.notes)


# --------------------------------------------------------------------------- 3. missing items
RATINGS = '"User-ID";"ISBN";"Book-Rating"\n' + "".join(
    f'"{u}";"{isbn}";"{r}"\n'
    for u, isbn, r in [(1, "034545104X", 5), (2, "0155061224", 0), (1, "0000000001", 3),
                       (3, "034545104X", 8), (3, "0000000002", 7), (2, "0000000003", 6)]
)  # fmt: skip
BOOKS = '"ISBN";"Book-Title";"Year-Of-Publication"\n"034545104X";"Flesh Tones";"2002"\n' \
        '"0155061224";"Rites of Passage";"2001"\n"0999999999";"Unrated";"1999"\n'


def test_rated_items_missing_from_the_item_table_load_with_a_note(tmp_path):
    (tmp_path / "BX-Book-Ratings.csv").write_text(RATINGS)
    (tmp_path / "BX-Books.csv").write_text(BOOKS)
    books = ItemTableMapping(str(tmp_path / "BX-Books.csv"), "ISBN", "Book-Title",
                             year="Year-Of-Publication")  # fmt: skip
    ds = load_dataset(tmp_path / "BX-Book-Ratings.csv",
                      ColumnMapping("User-ID", "ISBN", "Book-Rating", item_table=books))
    assert ds.n_ratings == 6  # no rating dropped
    assert ds.n_items == 6  # 5 rated (3 not in the table, kept apart) + 1 unrated
    titles = titles_of(ds)
    assert titles["034545104X"] == "Flesh Tones" and titles["0999999999"] == "Unrated"
    for isbn in ("0000000001", "0000000002", "0000000003"):
        assert titles[isbn] == f"Item {isbn}"
    assert ("3 rated item(s) are not in the item table BX-Books.csv: they have no title or "
            "features (e.g. 0000000001, 0000000002, 0000000003)") in ds.notes  # fmt: skip
    year = dict(zip(ds.items["item_id"], ds.items["year"], strict=True))
    assert year["034545104X"] == 2002 and pd.isna(year["0000000001"])


def test_errors_name_the_columns_as_the_file_does(tmp_path):
    path = tmp_path / "r.csv"
    mapping = ColumnMapping("User-ID", "ISBN", "Book-Rating")
    for body, column in (('"1";"A";"5"\n"";"B";"3"\n', "User-ID"),
                         ('"1";"A";"5"\n"2";"";"3"\n', "ISBN"),
                         ('"1";"A";"5"\n"2";"B";"x"\n', "Book-Rating")):  # fmt: skip
        path.write_text('"User-ID";"ISBN";"Book-Rating"\n' + body)
        with pytest.raises(ValueProblem) as err:
            load_dataset(path, mapping)
        assert (err.value.line, err.value.column) == (3, column)
        assert f"column '{column}'" in str(err.value)
    # An item table's missing id names its id column.
    path.write_text('"User-ID";"ISBN";"Book-Rating"\n"1";"A";"5"\n"2";"B";"3"\n')
    books = tmp_path / "books.parquet"
    pq.write_table(pa.table({"ISBN": ["A", None], "Book-Title": ["a", "b"]}), books)
    with pytest.raises(DatasetError) as err:
        load_dataset(path, ColumnMapping("User-ID", "ISBN", "Book-Rating",
                                         item_table=ItemTableMapping(str(books), "ISBN")))
    assert err.value.column == "ISBN" and "item_id" not in str(err.value)
