"""The whole story through the real main window: data -> train -> new user -> compare."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from gui_helpers import close_window, open_window

from metarec_gui.widgets.frame_model import ROW_ROLE


def test_train_then_adapt_a_new_user_then_compare(qtbot, settings_path, small_dataset) -> None:
    window = open_window(qtbot, settings_path, small_dataset)

    # Train: two epochs of MAML from the Train page; the curve holds points; a run exists.
    train = window.page("train")
    train.set_algorithm("maml")
    train.train_form.set_values({"epochs": 2, "meta_batch_size": 16, "final_test": True,
                                 "patience": 0})
    with qtbot.waitSignal(train.runEnded, timeout=60000) as ended:
        train.start()
    status, run_dir = ended.args
    assert status == "finished"
    assert train.plot.point_count(train.run_key) > 0

    # Cold-start: the new run is offered; a new user rates five items; the list adapts.
    cold = window.page("coldstart")
    window.show_page("coldstart")
    with qtbot.waitSignal(cold.recommendationsShown, timeout=20000):
        assert cold.picker.select_path(Path(run_dir))
    popular = np.argsort(-small_dataset.ratings_per_item)[:5]
    rated = {int(item): (5.0 if j % 2 else 1.0) for j, item in enumerate(popular)}
    with qtbot.waitSignal(cold.recommendationsShown, timeout=20000):
        for item, value in rated.items():
            cold.set_rating(item, value)
    adapted, unadapted = cold.adapted_table.items(), cold.unadapted_table.items()
    assert len(adapted) == len(unadapted) == 10
    assert adapted != unadapted
    assert not set(rated) & set(adapted)

    # Compare: the run is in the workspace table with its test metrics.
    compare = window.page("compare")
    window.show_page("compare")
    compare.refresh()
    paths = [compare.proxy.index(r, 0).data(ROW_ROLE)["path"] for r in range(compare.proxy.rowCount())]
    assert str(Path(run_dir).resolve()) in paths

    close_window(qtbot, window)
