"""Data page: loading in a worker, error dialogs, the column-mapping dialog, split settings."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.data import ColumnMapping, DatasetSpec
from metarec_gui.pages.data import DataPage
from metarec_gui.workers import running_jobs


@pytest.fixture
def page(qtbot, app_state):  # noqa: ANN001, ANN201
    page = DataPage(app_state)
    qtbot.addWidget(page)
    yield page
    qtbot.waitUntil(lambda: not running_jobs(), timeout=10000)


def test_builtin_loads_in_worker_and_shows_summary(qtbot, page, app_state) -> None:
    with qtbot.waitSignal(page.loadFinished, timeout=20000) as blocker:
        assert page.load_last()  # first launch: the built-in dataset
        assert page.is_loading() and page.busy.isVisibleTo(page)
    assert blocker.args == [True]
    dataset = app_state.dataset
    assert dataset.n_users == 671 and dataset.n_ratings == 100_004
    assert page.cards["users"].value.text() == "671"
    assert page.cards["ratings"].value.text() == "100,004"
    assert page.title.text() == dataset.name
    assert app_state.split is not None
    counts = app_state.split.counts(dataset)
    assert page.counts_table.item(0, 1).text() == f"{counts['train']['users']:,}"
    assert page.summary.rating_plot.listDataItems() or page.summary.rating_plot.items
    assert not page.busy.isVisibleTo(page) and page.load_button.isEnabled()
    assert "data/last_spec" in app_state.settings.allKeys()


def test_bad_file_shows_error_and_keeps_previous_dataset(qtbot, page, app_state, small_dataset,
                                                         dialogs, tmp_path: Path) -> None:
    app_state.set_dataset(small_dataset, "synthetic")
    bad = tmp_path / "broken.csv"
    bad.write_text("user,item,rating\n1,10,4\n2,11,five\n3,12,3\n")
    spec = DatasetSpec("table", path=str(bad), mapping=ColumnMapping("user", "item", "rating"))
    with qtbot.waitSignal(page.loadFinished, timeout=10000) as blocker:
        page.load(spec)
    assert blocker.args == [False]
    assert len(dialogs) == 1
    title, text = dialogs[0]
    assert title == "Could not load the dataset"
    assert "broken.csv" in text and "line 3" in text and "five" in text
    assert app_state.dataset is small_dataset
    assert "previous dataset" in page.load_status.text()


def test_unknown_source_string_is_a_readable_error(qtbot, page, app_state, dialogs) -> None:
    assert not page.load("/no/such/ratings.csv")
    assert dialogs and "not found" in dialogs[0][1]
    assert app_state.dataset is None


def test_synthetic_source_loads(qtbot, page, app_state) -> None:
    page.set_source("synthetic")
    page.synthetic_form.set_values({"n_users": 80, "n_items": 90, "seed": 5})
    with qtbot.waitSignal(page.loadFinished, timeout=10000) as blocker:
        page.load_selected()
    assert blocker.args == [True]
    assert app_state.dataset.n_users == 80
    assert app_state.dataset.truth is not None
    assert "true preferences" in page.summary.notes.text()


def test_movielens_folder_is_detected(qtbot, page, tmp_path: Path) -> None:
    folder = tmp_path / "ml-mini"
    folder.mkdir()
    (folder / "ratings.csv").write_text(
        "userId,movieId,rating,timestamp\n" + "".join(
            f"{u},{i},{(u + i) % 5 + 1},{1000 + u}\n" for u in range(1, 6) for i in range(1, 4)))
    (folder / "movies.csv").write_text(
        "movieId,title,genres\n1,A (1999),Drama\n2,B (2001),Comedy|Drama\n3,C (1995),Action\n")
    page.set_source("movielens")
    page.movielens_path.setText(str(folder))
    page.sources._detect_movielens()
    assert "MovieLens" in page.movielens_info.text()


def test_split_settings_change_counts(qtbot, page, app_state, small_dataset) -> None:
    app_state.set_dataset(small_dataset, "synthetic")
    before = page.counts_table.item(2, 1).text()
    with qtbot.waitSignal(app_state.splitChanged, timeout=3000):
        page.split_form.set_values({"test_fraction": 0.3})  # applied after a short debounce
    assert app_state.split.config.test_fraction == pytest.approx(0.3)
    counts = app_state.split.counts(small_dataset)
    assert page.counts_table.item(2, 1).text() == f"{counts['test']['users']:,}" != before


def test_invalid_split_is_explained_not_applied(qtbot, page, app_state, small_dataset) -> None:
    app_state.set_dataset(small_dataset, "synthetic")
    config = app_state.split_config
    page.split_form.set_values({"val_fraction": 0.6, "test_fraction": 0.5})
    page.apply_split()
    assert "training users" in page.split_message.text()
    assert app_state.split_config == config


def test_column_mapping_dialog_validates_live(qtbot, tmp_path: Path) -> None:
    from metarec_gui.dialogs.column_mapping import ColumnMappingDialog

    path = tmp_path / "scores.tsv"
    path.write_text("who\twhat\tstars\tnote\n" + "".join(
        f"u{u}\ti{i}\t{(u * i) % 5 + 1}\tok\n" for u in range(8) for i in range(6)))
    dialog = ColumnMappingDialog(path)
    qtbot.addWidget(dialog)
    assert "tab" in dialog.detected.text()
    # No recognised names: the first three columns are offered as user, item, rating.
    assert [dialog.role_boxes[r].currentText() for r in ("user", "item", "rating")] == \
        ["who", "what", "stars"]
    qtbot.waitUntil(lambda: dialog.load_button.isEnabled(), timeout=3000)

    dialog.role_boxes["rating"].setCurrentText("note")  # text is not a rating
    qtbot.waitUntil(lambda: not dialog.load_button.isEnabled(), timeout=3000)
    assert any("'ok' is not a number" in p for p in dialog.problems_list())
    assert "Cannot load" in dialog.problems.text()

    dialog.role_boxes["rating"].setCurrentText("what")  # same column twice
    qtbot.waitUntil(lambda: any("both" in p for p in dialog.problems_list()), timeout=3000)

    dialog.role_boxes["rating"].setCurrentText("stars")
    dialog.fixed_scale.setChecked(True)
    dialog.scale_min.setValue(1)
    dialog.scale_max.setValue(3)  # ratings go up to 5
    qtbot.waitUntil(lambda: any("outside the scale" in p for p in dialog.problems_list()),
                    timeout=3000)
    dialog.scale_max.setValue(5)
    qtbot.waitUntil(lambda: dialog.load_button.isEnabled(), timeout=3000)
    mapping = dialog.mapping()
    assert (mapping.user, mapping.item, mapping.rating) == ("who", "what", "stars")
    assert mapping.scale.max == 5
