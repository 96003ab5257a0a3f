"""Errors raised for bad input: they name the file, line/row and column and say what is wrong."""

from __future__ import annotations

from pathlib import Path


class DatasetError(ValueError):
    """A dataset could not be loaded; the message is meant for the user as is."""

    def __init__(
        self,
        problem: str,
        *,
        path: str | Path | None = None,
        line: int | None = None,
        column: str | None = None,
        hint: str | None = None,
    ) -> None:
        self.problem = problem
        self.path = str(path) if path is not None else None
        self.line = line
        self.column = column
        self.hint = hint
        super().__init__(self.message)

    @property
    def message(self) -> str:
        where = []
        if self.path:
            where.append(self.path)
        if self.line is not None:
            where.append(f"line {self.line}")
        if self.column:
            where.append(f"column '{self.column}'")
        text = (", ".join(where) + ": " if where else "") + self.problem
        if self.hint:
            text += f" ({self.hint})"
        return text


class ColumnError(DatasetError):
    """A required column is missing or misnamed."""


class ValueProblem(DatasetError):
    """A value is not numeric, NaN, off the rating scale, or otherwise invalid."""


class FormatError(DatasetError):
    """The file is empty, unreadable, or in an unknown format."""
