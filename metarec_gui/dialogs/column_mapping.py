"""Map the columns of any ratings file: preview the first rows, choose roles, validate live.

Everything the dialog knows about the file comes from ``core.data``: ``preview_table`` (first rows
and what was detected), ``guess_mapping`` (a first guess) and ``validate_mapping`` (problems with
the current choice, as sentences). The dialog only translates widgets into a ``ColumnMapping``.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from PySide6.QtCore import Qt, QTimer, Slot
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from core.data import DatasetError, RatingScale
from core.data.table import (
    ColumnMapping,
    ItemTableMapping,
    delimiter_name,
    guess_mapping,
    preview_table,
    validate_mapping,
)

from ..theme import theme

NONE = "(none)"
DELIMITERS = (None, ",", "\t", ";", "|", "::", " ")
ROLES = ("user", "item", "rating", "timestamp")
ITEM_ROLES = ("item_id", "title", "genres", "year")


class ColumnMappingDialog(QDialog):
    """Choose which columns hold user, item, rating (and timestamp) of ``path``."""

    PREVIEW_ROWS = 20

    def __init__(self, path: str | Path, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.path = Path(path)
        self.setWindowTitle(f"Load ratings — {self.path.name}")
        self.setMinimumSize(820, 620)
        self._columns: list[str] = []
        self._problems: list[str] = []
        self._item_columns: list[str] = []

        self.detected = QLabel()
        self.detected.setWordWrap(True)
        self.detected.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)

        # ---- how to read the file
        self.delimiter = QComboBox()
        for d in DELIMITERS:
            self.delimiter.addItem("Detect" if d is None else delimiter_name(d), d)
        self.header = QComboBox()
        self.header.addItem("Detect", None)
        self.header.addItem("First line names the columns", True)
        self.header.addItem("No header line", False)
        reading = QGroupBox("Reading")
        rf = QFormLayout(reading)
        rf.addRow("Delimiter", self.delimiter)
        rf.addRow("Header", self.header)

        # ---- roles
        self.role_boxes: dict[str, QComboBox] = {r: QComboBox() for r in ROLES}
        roles = QGroupBox("Columns")
        cf = QFormLayout(roles)
        for role, text in zip(ROLES, ("User id", "Item id", "Rating", "Timestamp (optional)"),
                              strict=True):
            cf.addRow(text, self.role_boxes[role])

        # ---- scale
        self.fixed_scale = QCheckBox("Fixed rating scale")
        self.fixed_scale.setToolTip("Unticked: the scale is inferred from the ratings")
        self.scale_min, self.scale_max, self.scale_step = (QDoubleSpinBox() for _ in range(3))
        for spin, value in ((self.scale_min, 1.0), (self.scale_max, 5.0), (self.scale_step, 1.0)):
            spin.setRange(-1e6, 1e6)
            spin.setDecimals(2)
            spin.setValue(value)
            spin.setEnabled(False)
        self.scale_step.setRange(0.0, 1e6)
        scale = QGroupBox("Rating scale")
        sg = QGridLayout(scale)
        sg.addWidget(self.fixed_scale, 0, 0, 1, 6)
        for col, (text, spin) in enumerate((("min", self.scale_min), ("max", self.scale_max),
                                            ("step", self.scale_step))):
            sg.addWidget(QLabel(text), 1, 2 * col)
            sg.addWidget(spin, 1, 2 * col + 1)

        # ---- optional item table
        self.item_group = QGroupBox("Item table (optional: titles, genres, years)")
        self.item_group.setCheckable(True)
        self.item_group.setChecked(False)
        self.item_path = QLineEdit()
        self.item_path.setPlaceholderText("movies.csv, items.tsv, …")
        browse = QPushButton("Browse…")
        browse.clicked.connect(self._browse_items)
        self.item_boxes: dict[str, QComboBox] = {r: QComboBox() for r in ITEM_ROLES}
        self.genre_sep = QLineEdit("|")
        self.genre_sep.setMaximumWidth(40)
        ig = QFormLayout(self.item_group)
        row = QHBoxLayout()
        row.addWidget(self.item_path, 1)
        row.addWidget(browse)
        ig.addRow("File", row)
        for role, text in zip(ITEM_ROLES, ("Item id", "Title", "Genres", "Year"), strict=True):
            ig.addRow(text, self.item_boxes[role])
        ig.addRow("Genre separator", self.genre_sep)

        self.name_edit = QLineEdit(self.path.stem)
        name_form = QFormLayout()
        name_form.addRow("Dataset name", self.name_edit)

        left = QVBoxLayout()
        left.addWidget(reading)
        left.addWidget(roles)
        left.addWidget(scale)
        left.addWidget(self.item_group)
        left.addLayout(name_form)
        left.addStretch(1)

        # ---- preview and problems
        self.table = QTableWidget()
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.table.setAlternatingRowColors(True)
        self.table.verticalHeader().setDefaultSectionSize(22)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        self.problems = QLabel()
        self.problems.setWordWrap(True)
        self.problems.setTextFormat(Qt.TextFormat.RichText)
        self.problems.setMinimumHeight(48)
        self.problems.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        right = QVBoxLayout()
        right.addWidget(QLabel(f"First {self.PREVIEW_ROWS} rows"))
        right.addWidget(self.table, 1)
        right.addWidget(self.problems)

        body = QHBoxLayout()
        lw = QWidget()
        lw.setLayout(left)
        lw.setMaximumWidth(340)
        body.addWidget(lw)
        body.addLayout(right, 1)

        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        self.load_button = self.buttons.addButton("Load", QDialogButtonBox.ButtonRole.AcceptRole)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)

        layout = QVBoxLayout(self)
        layout.addWidget(QLabel(f"<b>{self.path}</b>"))
        layout.addWidget(self.detected)
        layout.addLayout(body, 1)
        layout.addWidget(self.buttons)

        self._validate_timer = QTimer(self)
        self._validate_timer.setSingleShot(True)
        self._validate_timer.setInterval(120)
        self._validate_timer.timeout.connect(self.validate)

        self._reload_preview(first=True)
        self.delimiter.currentIndexChanged.connect(lambda _i: self._reload_preview())
        self.header.currentIndexChanged.connect(lambda _i: self._reload_preview())
        for box in (*self.role_boxes.values(), *self.item_boxes.values()):
            box.currentIndexChanged.connect(self._changed)
        self.fixed_scale.toggled.connect(self._on_fixed_scale)
        for spin in (self.scale_min, self.scale_max, self.scale_step):
            spin.valueChanged.connect(self._changed)
        self.item_group.toggled.connect(self._changed)
        self.item_path.editingFinished.connect(self._reload_items)
        self.genre_sep.textChanged.connect(self._changed)
        self.validate()

    # ------------------------------------------------------------------ preview
    def _reload_preview(self, first: bool = False) -> None:
        try:
            frame = preview_table(self.path, self.PREVIEW_ROWS, delimiter=self.delimiter.currentData(),
                                  has_header=self.header.currentData())
        except DatasetError as exc:
            self._columns = []
            self.table.clear()
            self.table.setRowCount(0)
            self.table.setColumnCount(0)
            self.detected.setText("")
            self._set_role_columns([])
            self._show_problems([exc.message])
            return
        self._columns = [str(c) for c in frame.columns]
        attrs = frame.attrs
        if attrs.get("format") == "parquet":
            self.detected.setText("Detected: Parquet table")
        else:
            self.detected.setText(
                f"Detected: {delimiter_name(attrs.get('delimiter') or ',')}-separated text, "
                f"{'with a header line' if attrs.get('has_header') else 'no header line'}, "
                f"{attrs.get('encoding') or 'utf-8'} encoding")
        self.table.setColumnCount(len(self._columns))
        self.table.setRowCount(len(frame))
        for r in range(len(frame)):
            for c in range(len(self._columns)):
                value = frame.iat[r, c]
                self.table.setItem(r, c, QTableWidgetItem("" if pd.isna(value) else str(value)))
        previous = {role: box.currentText() for role, box in self.role_boxes.items()}
        self._set_role_columns(self._columns)
        guess = guess_mapping(self._columns)
        if first and guess is None and len(self._columns) >= 3:
            # No recognised names: the common order user, item, rating (timestamp left unset).
            guess = ColumnMapping(*self._columns[:3])
        for role, box in self.role_boxes.items():
            wanted = getattr(guess, role) if guess is not None else None
            if not first and previous.get(role) in self._columns:
                wanted = previous[role]
            box.blockSignals(True)
            box.setCurrentIndex(max(0, box.findText(wanted)) if wanted else 0)
            box.blockSignals(False)
        self._changed()

    def _set_role_columns(self, columns: list[str]) -> None:
        for role, box in self.role_boxes.items():
            box.blockSignals(True)
            box.clear()
            if role == "timestamp":
                box.addItem(NONE)
            elif not columns:
                box.addItem("")
            box.addItems(columns)
            box.blockSignals(False)

    def _browse_items(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Item table", str(self.path.parent),
                                              "Tables (*.csv *.tsv *.dat *.txt *.parquet);;All files (*)")
        if path:
            self.item_path.setText(path)
            self._reload_items()

    @Slot()
    def _reload_items(self) -> None:
        text = self.item_path.text().strip()
        columns: list[str] = []
        if text:
            try:
                columns = [str(c) for c in preview_table(text, 5).columns]
            except DatasetError as exc:
                self._show_problems([exc.message])
        self._item_columns = columns
        for role, box in self.item_boxes.items():
            box.blockSignals(True)
            box.clear()
            if role != "item_id":
                box.addItem(NONE)
            box.addItems(columns)
            lowered = [c.lower() for c in columns]
            for alias in {"item_id": ("movieid", "item_id", "itemid", "id", "item"),
                          "title": ("title", "name"), "genres": ("genres", "genre"),
                          "year": ("year",)}[role]:
                if alias in lowered:
                    box.setCurrentIndex(box.findText(columns[lowered.index(alias)]))
                    break
            box.blockSignals(False)
        self._changed()

    # ------------------------------------------------------------------ mapping
    @Slot(bool)
    def _on_fixed_scale(self, on: bool) -> None:
        for spin in (self.scale_min, self.scale_max, self.scale_step):
            spin.setEnabled(on)
        self._changed()

    def _changed(self, *_: object) -> None:
        self._highlight_columns()
        self._validate_timer.start()

    def mapping(self) -> ColumnMapping:
        """The mapping the widgets describe (validated by :meth:`validate`)."""
        def col(role: str) -> str | None:
            text = self.role_boxes[role].currentText()
            return None if text in (NONE, "") else text

        scale = None
        if self.fixed_scale.isChecked():
            scale = RatingScale(self.scale_min.value(), self.scale_max.value(),
                                self.scale_step.value())
        item_table = None
        if self.item_group.isChecked() and self.item_path.text().strip():
            def icol(role: str) -> str | None:
                text = self.item_boxes[role].currentText()
                return None if text in (NONE, "") else text

            item_table = ItemTableMapping(self.item_path.text().strip(), icol("item_id") or "",
                                          icol("title"), icol("genres"), icol("year"),
                                          genre_separator=self.genre_sep.text() or "|")
        return ColumnMapping(col("user") or "", col("item") or "", col("rating") or "",
                             col("timestamp"), scale, self.delimiter.currentData(),
                             self.header.currentData(), item_table)

    def dataset_name(self) -> str:
        return self.name_edit.text().strip() or self.path.stem

    @Slot()
    def validate(self) -> list[str]:
        """Ask core for the problems of the current mapping and show them."""
        if not self._columns:
            self.load_button.setEnabled(False)
            return self._problems
        problems = []
        if self.fixed_scale.isChecked() and self.scale_max.value() <= self.scale_min.value():
            problems.append("the scale's max must be larger than its min")
        if not problems:
            problems = validate_mapping(self.path, self.mapping())
        self._show_problems(problems)
        return problems

    def problems_list(self) -> list[str]:
        return list(self._problems)

    def _show_problems(self, problems: list[str]) -> None:
        self._problems = list(problems)
        self.load_button.setEnabled(not problems and bool(self._columns))
        if problems:
            color = theme().level_color("error")
            items = "".join(f"<li>{_escape(p)}</li>" for p in problems)
            self.problems.setText(f'<span style="color:{color}"><b>Cannot load yet:</b></span>'
                                  f'<ul style="margin:0">{items}</ul>')
        else:
            ok = "#74c567" if theme().is_dark else "#2e7d32"
            self.problems.setText(f'<span style="color:{ok}">✓ The first rows check out. '
                                  "Load reads the whole file and checks every line.</span>")

    def _highlight_columns(self) -> None:
        mapped = {}
        for role, box in self.role_boxes.items():
            if box.currentText() in self._columns:
                mapped.setdefault(box.currentText(), []).append(role)
        tint = QColor(theme().accent())
        tint.setAlpha(45)
        for c, name in enumerate(self._columns):
            roles = mapped.get(name)
            label = f"{name}\n→ {', '.join(roles)}" if roles else name
            self.table.setHorizontalHeaderItem(c, QTableWidgetItem(label))
            brush = QBrush(tint) if roles else QBrush()
            for r in range(self.table.rowCount()):
                item = self.table.item(r, c)
                if item is not None:
                    item.setBackground(brush)


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
