"""Disclosure control: primary suppression, rounding, secondary suppression (../shared/spec/fairness.md)."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from placement.audit.disclosure import (
    Line,
    characteristic_lines,
    protect,
    publish_count,
    round_to_5,
    suppressed_cells,
    target_lines,
)
from placement.audit.metrics import SUPPRESSED


def test_primary_rule_zero_small_and_rounding() -> None:
    assert publish_count(0) == 0
    assert all(publish_count(n) is SUPPRESSED for n in range(1, 8))
    assert [publish_count(n) for n in (8, 12, 13, 17, 18, 100, 102, 103)] == [10, 10, 15, 15, 20, 100, 100, 105]
    assert round_to_5(7) == 5 and round_to_5(2) == 0


def test_secondary_suppression_hides_the_next_smallest_cell_of_the_line() -> None:
    # 5 + 10 + 15 = 30: with only the 5 hidden, 30 - 10 - 15 would give it away.
    cells = {"a": 5, "b": 10, "c": 15, "total": 30}
    shown = protect(cells, [Line("total", ("a", "b", "c"))])
    assert shown == {"a": SUPPRESSED, "b": SUPPRESSED, "c": 15, "total": 30}


def test_secondary_suppression_never_picks_a_zero_and_can_fall_back_to_the_total() -> None:
    cells = {"a": 3, "b": 0, "c": 20, "total": 23}
    assert suppressed_cells(cells, [Line("total", ("a", "b", "c"))]) == {"a", "c"}
    # Two small cells already protect each other: nothing more is hidden.
    cells = {"a": 3, "b": 4, "c": 20, "total": 27}
    assert suppressed_cells(cells, [Line("total", ("a", "b", "c"))]) == {"a", "b"}
    # A line of one part: the part equals the total, so when one goes the other does.
    cells = {"part": 12, "total": 12, "other": 5, "sum": 17}
    assert suppressed_cells(cells, [Line("sum", ("part", "other")), Line("total", ("part",))]) == {
        "other",
        "part",
        "total",
    }


def test_secondary_suppression_follows_rows_and_columns() -> None:
    # r1: 3 + 20 = 23; r2: 30 + 40 = 70; columns 33 and 60; grand total 93.
    cells = {"r1c1": 3, "r1c2": 20, "r2c1": 30, "r2c2": 40, "r1": 23, "r2": 70, "c1": 33, "c2": 60, "all": 93}
    lines = [
        Line("r1", ("r1c1", "r1c2")),
        Line("r2", ("r2c1", "r2c2")),
        Line("c1", ("r1c1", "r2c1")),
        Line("c2", ("r1c2", "r2c2")),
        Line("all", ("r1", "r2")),
        Line("all", ("c1", "c2")),
    ]
    hidden = suppressed_cells(cells, lines)
    assert hidden == {"r1c1", "r1c2", "r2c1", "r2c2"}
    shown = protect(cells, lines)
    assert shown["r1"] == 25 and shown["c1"] == 35 and shown["all"] == 95


@settings(max_examples=150, deadline=None)
@given(
    st.lists(st.lists(st.integers(0, 40), min_size=2, max_size=5), min_size=2, max_size=5).filter(
        lambda rows: len({len(r) for r in rows}) == 1
    )
)
def test_no_line_is_left_with_a_single_hidden_cell(rows: list[list[int]]) -> None:
    cells: dict = {}
    lines = []
    for i, r in enumerate(rows):
        for j, v in enumerate(r):
            cells[(i, j)] = v
        cells[("row", i)] = sum(r)
        lines.append(Line(("row", i), tuple((i, j) for j in range(len(r)))))
    for j in range(len(rows[0])):
        cells[("col", j)] = sum(r[j] for r in rows)
        lines.append(Line(("col", j), tuple((i, j) for i in range(len(rows)))))
    hidden = suppressed_cells(cells, lines)
    for ln in lines:
        assert len({ln.total, *ln.parts} & hidden) != 1
    assert {k for k, v in cells.items() if 1 <= v <= 7} <= hidden
    assert not any(cells[k] == 0 for k in hidden)
    shown = protect(cells, lines)
    assert all(v is SUPPRESSED or v % 5 == 0 for v in shown.values())


def test_characteristic_tables_share_the_cohort_total_row() -> None:
    lines = characteristic_lines("sex", ["female", "male"], ["eligible", "placed"], ["choice_1"])
    assert Line(("cohort", "placed"), (("sex", "female", "placed"), ("sex", "male", "placed"))) in lines
    # Within a row: placed = sum of the choice columns.
    assert Line(("sex", "male", "placed"), (("sex", "male", "choice_1"),)) in lines


def test_a_target_count_equal_to_a_table_cell_is_hidden_with_it() -> None:
    # The cohort target counts the women placed: the same number as the sex table's cell,
    # so if that cell is hidden (here by secondary suppression) the target's count must be too.
    targets = [{"name": "women", "attribute": "sex", "value": "female"}]
    cells = {
        ("sex", "female", "placed"): 12,
        ("sex", "male", "placed"): 5,
        ("cohort", "placed"): 17,
        ("target", 0, "placed_in_scope"): 17,
        ("target", 0, "members_placed"): 12,
    }
    lines = [Line(("cohort", "placed"), (("sex", "female", "placed"), ("sex", "male", "placed")))]
    lines += target_lines(targets, cells)
    shown = protect(cells, lines)
    assert shown[("sex", "female", "placed")] is SUPPRESSED
    assert shown[("target", 0, "members_placed")] is SUPPRESSED


def test_region_scopes_that_partition_the_cohort_form_a_line() -> None:
    targets = [{"name": "w", "attribute": "sex", "value": "female"}] * 3
    cells = {
        ("cohort", "placed"): 40,
        ("sex", "female", "placed"): 20,
        ("target", 0, "placed_in_scope"): 4,
        ("target", 1, "placed_in_scope"): 16,
        ("target", 2, "placed_in_scope"): 20,
        ("target", 0, "members_placed"): 2,
        ("target", 1, "members_placed"): 8,
        ("target", 2, "members_placed"): 9,
    }
    lines = target_lines(targets, cells)
    assert len(lines) == 1  # placed counts add up to the cohort; members (19) do not add up to 20
    hidden = suppressed_cells(cells, lines)
    assert {("target", 0, "placed_in_scope"), ("target", 1, "placed_in_scope")} <= hidden
