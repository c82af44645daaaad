"""The rows of one file held compactly: what keeps an import of millions of rows in bounded memory.

A preferences file of 2,000,000 rows names perhaps 100,000 candidates and
40,000 hosts, and 20 ranks: every value recurs. A :class:`RowStore` keeps
each column's distinct values once and a 4-byte code per row and column
(``array``), plus the row's spreadsheet number, instead of a dict (and then a
pydantic model) per row: some 20 bytes a row instead of about a kilobyte. The
rows come back one at a time when iterated, and the checks across millions
of rows (``validate``) and the plan of what to write (``store``) work on the
codes as numpy arrays without building a row at all.
"""

from __future__ import annotations

from array import array
from collections.abc import Callable, Hashable, Iterable, Iterator, Mapping
from typing import Any

import numpy as np

_ABSENT: Any = object()  # code 0 of every column: the row has no value in it (a broken row keeps only its id)


class WideRow(int):
    """A spreadsheet row number that also names the wide-layout column a long row came from.

    One row of a wide preference sheet becomes several canonical rows; a
    problem with one of them names the cell (``Choice 3``), not just the row.
    """

    choice_column: str

    def __new__(cls, row: int, choice_column: str) -> WideRow:
        obj = super().__new__(cls, row)
        obj.choice_column = choice_column
        return obj


class Column:
    """One column's distinct values (``values[code]``) and each row's code."""

    def __init__(self) -> None:
        self.values: list[Any] = [_ABSENT]
        self.index: dict[Hashable, int] = {}
        self.codes = array("I")

    def code(self, value: Any) -> int:
        # 1 == 1.0 == True in a dict: a value's type is part of its key, except for text (the common case).
        key = value if type(value) is str else (type(value), value)
        found = self.index.get(key)
        if found is None:
            found = self.index[key] = len(self.values)
            self.values.append(value)
        return found

    def code_of(self, value: Any) -> int | None:
        """The code of ``value`` if some row holds it."""
        return self.index.get(value if type(value) is str else (type(value), value))

    def array(self) -> np.ndarray:
        """Each row's code, as a numpy array (a copy: a view would stop the store growing)."""
        return np.frombuffer(self.codes, dtype=np.uint32).copy() if len(self.codes) else np.zeros(0, dtype=np.uint32)


class RowStore:
    """(spreadsheet row, values) pairs, appended one at a time, kept column by column.

    ``make`` turns a row's values (a dict) back into what iteration gives: the
    dict itself (cells read from a file), or the row's pydantic model
    (validated rows, rebuilt with ``model_construct``: no second validation).
    """

    def __init__(self, make: Callable[[dict[str, Any]], Any] | None = None):
        self._make = make
        self.columns: dict[str, Column] = {}
        self._rows = array("q")
        self._choice: Column | None = None  # the wide-layout column of each row, when there is one

    def append(self, item: tuple[int, Any]) -> None:
        """Add ``(row, values)``; values a dict, or a model (its fields are kept)."""
        row, values = item
        if not isinstance(values, Mapping):
            values = values.__dict__
        n = len(self._rows)
        if not values.keys() <= self.columns.keys():
            for name in values.keys() - self.columns.keys():  # a column seen first now: earlier rows lack it
                column = self.columns[name] = Column()
                column.codes.extend(array("I", bytes(4 * n)))
        # Column.code inlined: this runs once per row and column, millions of times in a large import.
        for name, column in self.columns.items():
            value = values.get(name, _ABSENT)
            if value is _ABSENT:
                column.codes.append(0)
                continue
            key = value if type(value) is str else (type(value), value)
            code = column.index.get(key)
            if code is None:
                code = column.code(value)
            column.codes.append(code)
        if isinstance(row, WideRow) or self._choice is not None:
            if self._choice is None:
                self._choice = Column()
                self._choice.codes.extend(array("I", bytes(4 * n)))
            self._choice.codes.append(self._choice.code(row.choice_column) if isinstance(row, WideRow) else 0)
        self._rows.append(row)

    def __len__(self) -> int:
        return len(self._rows)

    def row(self, i: int) -> int:
        """The spreadsheet row of the ``i``-th row stored (a :class:`WideRow` for a wide layout's cell)."""
        if self._choice is not None and (code := self._choice.codes[i]):
            return WideRow(self._rows[i], self._choice.values[code])
        return self._rows[i]

    def value(self, i: int, name: str) -> Any:
        column = self.columns.get(name)
        value = column.values[column.codes[i]] if column is not None else _ABSENT
        return None if value is _ABSENT else value

    def at(self, positions: Iterable[int]) -> Iterator[tuple[int, Any]]:
        """The rows at ``positions`` (indices into the store), as iteration gives them."""
        columns = [(name, c.values, c.codes) for name, c in self.columns.items()]
        for i in positions:
            i = int(i)
            values = {name: values[codes[i]] for name, values, codes in columns if codes[i]}
            yield self.row(i), self._make(values) if self._make else values

    def __iter__(self) -> Iterator[tuple[int, Any]]:
        return self.at(range(len(self._rows)))

    def codes(self, name: str) -> tuple[np.ndarray, list[Any]]:
        """The codes of column ``name`` (a numpy array, one per row) and the values they stand for."""
        column = self.column(name)
        return column.array(), column.values

    def column(self, name: str) -> Column:
        """Column ``name`` (empty when no row has it, as in a store with no rows)."""
        found = self.columns.get(name)
        if found is None:
            found = Column()
            found.codes.extend(array("I", bytes(4 * len(self._rows))))
        return found

    def distinct(self, name: str) -> set[Any]:
        """The values column ``name`` holds (none if no row has the column)."""
        column = self.columns.get(name)
        return set(column.values[1:]) if column is not None else set()
