"""MovieLens 100K / 1M / 10M / CSV layouts, as folders, zips and zips with a sub-folder."""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from core.data import (
    DatasetSpec,
    RatingScale,
    describe_source,
    detect_movielens,
    load_dataset,
    load_movielens,
)
from core.data.movielens import find_layout


def _flags(on: set[int]) -> str:
    return "|".join("1" if i in on else "0" for i in range(19))


GENRE_FILE = "".join(
    f"{name}|{i}\n"
    for i, name in enumerate(
        ["unknown", "Action", "Adventure", "Animation", "Children's", "Comedy", "Crime",
         "Documentary", "Drama", "Fantasy", "Film-Noir", "Horror", "Musical", "Mystery",
         "Romance", "Sci-Fi", "Thriller", "War", "Western"]
    )
) + "\n"  # fmt: skip


def write_100k(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "u.data").write_text(
        "196\t242\t3\t881250949\n186\t302\t3\t891717742\n22\t377\t1\t878887116\n"
        "196\t302\t5\t881250950\n22\t242\t4\t878887117\n"
    )
    (folder / "u.item").write_bytes(
        (
            f"242|Kolya (1996)|24-Jan-1997||http://us.imdb.com/M/title-exact?Kolya%20(1996)|{_flags({5})}\n"
            f"302|L.A. Confidential (1997)|01-Jan-1997||http://x|{_flags({6, 10, 13, 16})}\n"
            f"377|Café Society|01-Jan-1995||http://y|{_flags({0})}\n"
        ).encode("latin-1")
    )
    (folder / "u.genre").write_text(GENRE_FILE)
    (folder / "u.user").write_text(
        "22|25|M|writer|40206\n186|39|F|executive|00000\n196|49|M|writer|55105\n"
    )
    return folder


def write_1m(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "ratings.dat").write_text(
        "1::1193::5::978300760\n1::661::3::978302109\n1::914::3::978301968\n"
        "2::1193::4::978298413\n3::661::2::978297039\n"
    )
    (folder / "movies.dat").write_bytes(
        "1193::One Flew Over the Cuckoo's Nest (1975)::Drama\n"
        "661::James and the Giant Peach (1996)::Animation|Children's|Musical\n"
        "914::My Fair Lady (1964)::Musical|Romance\n"
        "2000::Cité des enfants perdus, La (1995)::Adventure|Sci-Fi\n".encode("latin-1")
    )
    (folder / "users.dat").write_text(
        "1::F::1::10::48067\n2::M::56::16::70072\n3::M::25::15::55117\n"
    )
    return folder


def write_csv(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "ratings.csv").write_text(
        "userId,movieId,rating,timestamp\n1,31,2.5,1260759144\n1,1029,3.0,1260759179\n"
        "1,1061,3.0,1260759182\n2,31,4.5,1260759185\n7,1061,0.5,1260759200\n"
    )
    (folder / "movies.csv").write_text(
        "movieId,title,genres\n"
        '31,"American President, The (1995)",Comedy|Drama|Romance\n'
        "1029,Dumbo (1941),Animation|Children|Drama|Musical\n"
        "1061,Sleepers (1996),Thriller\n"
        "5000,Medium Cool (1969),(no genres listed)\n",
        encoding="utf-8",
    )
    (folder / "links.csv").write_text("movieId,imdbId,tmdbId\n31,0112346,9087\n")
    return folder


WRITERS = {"100k": write_100k, "1m": write_1m, "csv": write_csv}


def zip_folder(folder: Path, archive: Path, inside: str = "") -> Path:
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zf:
        for p in sorted(folder.iterdir()):
            zf.write(p, f"{inside}/{p.name}" if inside else p.name)
    return archive


@pytest.fixture(params=["folder", "zip", "zip-nested", "folder-nested"])
def container(request):
    """Turn a written folder into the container under test; returns the path to load."""

    def make(kind: str, tmp_path: Path) -> Path:
        src = WRITERS[kind](tmp_path / f"ml-{kind}")
        if request.param == "folder":
            return src
        if request.param == "folder-nested":
            return tmp_path  # the parent holds exactly one MovieLens sub-folder
        archive = tmp_path / "archive" / f"ml-{kind}.zip"
        archive.parent.mkdir()
        return zip_folder(src, archive, f"ml-{kind}" if request.param == "zip-nested" else "")

    return make


def test_100k(container, tmp_path):
    path = container("100k", tmp_path)
    assert detect_movielens(path) == "100k"
    ds = load_movielens(path)
    assert (ds.n_users, ds.n_items, ds.n_ratings) == (3, 3, 5)
    assert ds.name == "MovieLens 100K"
    assert ds.scale == RatingScale(1.0, 5.0, 1.0)
    assert list(ds.user_ids) == [22, 186, 196] and list(ds.item_ids) == [242, 302, 377]
    items = ds.items.set_index("item_id")
    assert items.loc[242, "title"] == "Kolya" and items.loc[242, "year"] == 1996
    assert items.loc[302, "genres"] == "Crime|Film-Noir|Mystery|Thriller"
    # Latin-1 title, no year in the title: the year comes from the release date.
    assert items.loc[377, "title"] == "Café Society" and items.loc[377, "year"] == 1995
    assert items.loc[377, "genres"] == ""  # the 'unknown' flag is not a genre
    assert ds.item_features.genres_of(1) == ["Crime", "Film-Noir", "Mystery", "Thriller"]
    assert ds.users is not None and list(ds.users.columns) == [
        "user_id",
        "age",
        "gender",
        "occupation",
    ]
    assert ds.users.set_index("user_id").loc[186, "occupation"] == "executive"
    assert ds.user_features is not None and ds.user_features.fields == [
        "age",
        "gender",
        "occupation",
    ]
    items_of_196, ratings_of_196 = ds.ratings_of(2)
    assert list(ds.item_ids[items_of_196]) == [242, 302] and list(ratings_of_196) == [3.0, 5.0]
    assert ds.timestamp is not None and ds.timestamp.dtype == np.int64


def test_1m(container, tmp_path):
    path = container("1m", tmp_path)
    assert detect_movielens(path) == "1m"
    ds = load_movielens(path)
    # movies.dat's 2000 was never rated: it stays in the catalogue, after the rated items.
    assert (ds.n_users, ds.n_items, ds.n_ratings) == (3, 4, 5)
    assert ds.item_ids.tolist() == [661, 914, 1193, 2000]
    assert ds.ratings_per_item.tolist() == [2, 1, 2, 0]
    assert any("1 item(s) of the item table have no rating" in n for n in ds.notes)
    assert ds.name == "MovieLens 1M"
    assert ds.scale == RatingScale(1.0, 5.0, 1.0)
    items = ds.items.set_index("item_id")
    assert items.loc[1193, "title"] == "One Flew Over the Cuckoo's Nest"
    assert items.loc[1193, "year"] == 1975
    assert items.loc[661, "genres"] == "Animation|Children's|Musical"
    assert items.loc[2000, "genres"] == "Adventure|Sci-Fi" and items.loc[2000, "year"] == 1995
    assert items.loc[2000, "title"] == "Cité des enfants perdus, La"
    users = ds.users.set_index("user_id")
    assert users.loc[1, "age"] == "Under 18" and users.loc[1, "occupation"] == "K-12 student"
    assert users.loc[2, "gender"] == "M" and users.loc[2, "age"] == "56+"
    assert "zip" not in ds.users.columns
    assert ds.user_features.fields == ["age", "gender", "occupation"]
    assert ds.ratings_of(0)[1].tolist() == [3.0, 3.0, 5.0]  # user 1: items 661, 914, 1193


def test_csv_family(container, tmp_path):
    path = container("csv", tmp_path)
    assert detect_movielens(path) == "csv"
    ds = load_movielens(path)
    assert (ds.n_users, ds.n_items, ds.n_ratings) == (3, 4, 5)  # 5000 unrated, kept
    assert ds.item_ids.tolist()[-1] == 5000 and ds.ratings_per_item[-1] == 0
    assert ds.scale == RatingScale(0.5, 5.0, 0.5)
    items = ds.items.set_index("item_id")
    assert items.loc[31, "title"] == "American President, The"
    assert items.loc[31, "year"] == 1995 and items.loc[1029, "year"] == 1941
    assert items.loc[31, "genres"] == "Comedy|Drama|Romance"
    assert ds.item_features.n_genres == 7
    assert ds.users is None and ds.user_features is None
    assert sorted(ds.rating.tolist()) == [0.5, 2.5, 3.0, 3.0, 4.5]


def test_zip_is_streamed_not_extracted(tmp_path):
    archive = zip_folder(write_1m(tmp_path / "src"), tmp_path / "ml-1m.zip", "ml-1m")
    before = sorted(p.name for p in tmp_path.rglob("*"))
    ds = load_dataset(archive)
    assert ds.n_ratings == 5
    assert sorted(p.name for p in tmp_path.rglob("*")) == before


def test_10m_layout_has_half_stars(tmp_path):
    folder = tmp_path / "ml-10M100K"
    folder.mkdir()
    (folder / "ratings.dat").write_text("1::122::5::838985046\n1::185::4.5::838983525\n")
    (folder / "movies.dat").write_text(
        "122::Boomerang (1992)::Comedy|Romance\n185::Net, The (1995)::Action\n"
    )
    ds = load_movielens(folder)
    assert ds.name == "MovieLens 10M"
    assert ds.scale == RatingScale(0.5, 5.0, 0.5)
    assert ds.rating.tolist() == [5.0, 4.5]


def test_100k_without_genre_file_uses_standard_genres(tmp_path):
    folder = write_100k(tmp_path / "ml-100k")
    (folder / "u.genre").unlink()
    ds = load_movielens(folder)
    assert ds.items.set_index("item_id").loc[242, "genres"] == "Comedy"


def test_only_ratings_file_gives_placeholder_titles(tmp_path):
    folder = write_csv(tmp_path / "ml")
    (folder / "movies.csv").unlink()
    ds = load_movielens(folder)
    assert ds.items["title"].tolist() == ["Item 31", "Item 1029", "Item 1061"]
    assert ds.item_features.n_genres == 0


def test_describe_source_names_the_format(tmp_path):
    assert describe_source(write_1m(tmp_path / "a")) == (
        "MovieLens 1M (ratings.dat, movies.dat, users.dat)"
    )
    assert describe_source(write_100k(tmp_path / "b")) == (
        "MovieLens 100K (u.data, u.item, u.user, u.genre)"
    )
    archive = zip_folder(write_csv(tmp_path / "c"), tmp_path / "ml-latest.zip", "ml-latest")
    assert describe_source(archive) == "MovieLens (ml-latest) (ratings.csv, movies.csv)"
    assert describe_source(tmp_path / "nope") == "Not found"


def test_choosing_the_key_file_loads_the_folder(tmp_path):
    folder = write_1m(tmp_path / "ml-1m")
    spec = DatasetSpec.parse(str(folder / "ratings.dat"))
    assert spec.kind == "movielens" and spec.path == str(folder)
    ds = load_dataset(folder / "ratings.dat")
    assert ds.users is not None and ds.n_items == 4


def test_layout_reports_subfolder_and_files(tmp_path):
    archive = zip_folder(write_100k(tmp_path / "src"), tmp_path / "ml-100k.zip", "ml-100k")
    layout = find_layout(archive)
    assert layout is not None and layout.kind == "100k" and layout.subfolder == "ml-100k"
    assert layout.files["u.data"].shown == f"{archive}!/ml-100k/u.data"


def test_not_movielens_is_none(tmp_path):
    (tmp_path / "notes.txt").write_text("hello\n")
    assert detect_movielens(tmp_path) is None
    assert detect_movielens(tmp_path / "missing") is None
    assert detect_movielens(tmp_path / "notes.txt") is None


def test_1m_unknown_and_missing_codes(tmp_path):
    folder = write_1m(tmp_path / "ml-1m")
    (folder / "users.dat").write_text(
        "1::F::1::10::48067\n2::M::::99::70072\n3::M::30::15::55117\n"
    )
    users = load_movielens(folder).users.set_index("user_id")
    assert users.loc[2, "occupation"] == "code 99" and pd.isna(users.loc[2, "age"])
    assert users.loc[3, "age"] == "code 30" and users.loc[3, "occupation"] == "scientist"
