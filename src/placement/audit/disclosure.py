"""Disclosure control of every count the audit writes out (``shared/spec/fairness.md``).

Rules, applied in the publication edition (``editions``) to every count broken
down by a characteristic; scheme-wide totals are passed as ``exact`` and shown
as they are:
- a count of 0 stays 0; a count of 1 to 7 is withheld (shown ``*``) —
  *primary suppression*, as NHS Digital's method for hospital statistics has
  done since 2018 and OpenSAFELY's published code does (≤ 7);
- a count of 8 or more is rounded to the nearest 5;
- where one withheld cell could be worked out from a total (the total minus
  the other cells of its row or column), a second cell of that line is
  withheld too — *secondary suppression*: the smallest non-zero cell still
  shown, else the total. This repeats until no line has exactly one withheld
  cell, so it also follows chains across rows, columns and tables that share
  totals;
- a rate, share or ratio any part of which is withheld is withheld too; the
  metrics compute every published figure from the published counts only
  (``metrics.py``), so no exact count can be recovered from a rate.

Primary and secondary suppressions look the same (``*``): telling them
apart would say which cell is the small one.

The tables are described as *lines*: a total cell and the cells that add up
to it. :func:`protect` knows nothing else about the report, so it can be
tested on hand-made tables. Which second cell to withhold is chosen by a
cost, so that detail goes before substance: a later choice's count before a
group's placed count, a group's placed count before its eligible count, a
"not stated" row before a declared one, any group before the cohort's total.
Even so, the rule has a price the coordinator should know: in a group where
only 1-7 were left unplaced, the placed count is withheld too (placed =
eligible - unplaced), and with it the group's rate.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Final

from .metrics import SUPPRESSED, Count

SMALL_MAX: Final = 7  # counts 1..7 are withheld
ROUND_TO: Final = 5


@dataclass(frozen=True)
class Line:
    """``total`` = sum of ``parts``: a relation a reader could use to recover a withheld cell."""

    total: Hashable
    parts: tuple[Hashable, ...]


def round_to_5(n: int) -> int:
    """Nearest multiple of 5 (an integer is never exactly halfway between two)."""
    return ROUND_TO * ((n + ROUND_TO // 2) // ROUND_TO)


def is_small(n: int) -> bool:
    return 1 <= n <= SMALL_MAX


def publish_count(n: int) -> Count:
    """The primary rule alone: 0 -> 0, 1..7 -> ``*``, 8 and over -> nearest 5."""
    if is_small(n):
        return SUPPRESSED
    return round_to_5(n) if n else 0


def suppressed_cells(
    cells: Mapping[Hashable, int],
    lines: Iterable[Line],
    cost: Callable[[Hashable], float] | None = None,
    *,
    exact: set[Hashable] | frozenset[Hashable] = frozenset(),
) -> set[Hashable]:
    """Primary suppressions, then secondary ones until every line is safe.

    The second cell of a line is the cheapest non-zero cell still shown,
    by ``cost`` (default: any part before the total), then the smallest.
    Zeros are never chosen: 0 stays 0. ``exact`` cells (published totals
    that break nobody down) are never withheld; they still count as known
    when a line is checked.
    """
    withheld = {k for k, v in cells.items() if is_small(v) and k not in exact}
    lines = [ln for ln in lines if ln.total in cells and all(p in cells for p in ln.parts)]

    def price(member: Hashable, is_total: bool) -> float:
        if cost is not None:
            return cost(member)
        return 1.0 if is_total else 0.0

    changed = True
    while changed:
        changed = False
        for ln in lines:
            members = (*ln.parts, ln.total)
            hidden = [m for m in members if m in withheld]
            if len(hidden) != 1:
                continue
            # The lone withheld cell = total - the others (or the sum of the parts): hide one more.
            choices = [
                (price(m, i == len(ln.parts)), cells[m], i)
                for i, m in enumerate(members)
                if m not in withheld and m not in exact and cells[m] > 0
            ]
            if not choices:  # cannot happen for counts: a non-zero hidden part makes a non-zero total
                continue
            withheld.add(members[min(choices)[2]])
            changed = True
    return withheld


def protect(
    cells: Mapping[Hashable, int],
    lines: Iterable[Line],
    cost: Callable[[Hashable], float] | None = None,
    *,
    exact: set[Hashable] | frozenset[Hashable] = frozenset(),
) -> dict[Hashable, Count]:
    """The published value of every cell: ``*`` where withheld, else 0 or rounded to 5; ``exact`` cells as they are."""
    withheld = suppressed_cells(cells, lines, cost, exact=exact)
    return {
        k: v if k in exact else SUPPRESSED if k in withheld else (round_to_5(v) if v else 0) for k, v in cells.items()
    }


# --- The lines of the audit's tables -------------------------------------------------------------


def characteristic_lines(
    name: str, groups: Sequence[str], columns: Sequence[str], choice_columns: Sequence[str]
) -> list[Line]:
    """Lines of one characteristic's table: rows of groups under the cohort's total row.

    Cells are keyed ``(name, group, column)``; the total row is keyed
    ``("cohort", column)`` and shared by every characteristic's table (it is
    the same cohort), so a total withheld in one table is withheld in all.
    """
    lines = [Line(("cohort", c), tuple((name, g, c) for g in groups)) for c in columns]
    for g in groups:
        lines.extend(row_lines(lambda c, g=g: (name, g, c), choice_columns))
    return lines


def row_lines(key, choice_columns: Sequence[str]) -> list[Line]:
    """Within a row: eligible = placed + unplaced; placed = the sum of the choice columns."""
    return [
        Line(key("eligible"), (key("placed"), key("unplaced"))),
        Line(key("placed"), tuple(key(c) for c in choice_columns)),
    ]


def cohort_lines() -> list[Line]:
    """The cohort's own row: candidates considered = with an eligible host + with none."""
    return [Line(("cohort", "pool"), (("cohort", "eligible"), ("cohort", "no_eligible_host")))]


def target_lines(targets: Sequence[Mapping], cells: Mapping[Hashable, int]) -> list[Line]:
    """Targets' scope counts that add up to a table's cell (``region=*`` scopes partition the hosts).

    For each target name, if its scopes' placed counts add up to the cohort's
    placed total, they form a line with it; if its members add up to the
    placed count of the target's value in that characteristic's table, so do
    they. Checked on the exact counts, so a partial set of scopes (e.g. one
    host) never claims a relation it does not have. Cells are keyed
    ``("target", i, "placed_in_scope" | "members_placed")``.
    """
    by_name: dict[str, list[int]] = {}
    for i, t in enumerate(targets):
        by_name.setdefault(t["name"], []).append(i)
    lines: list[Line] = []
    for idx in by_name.values():
        t = targets[idx[0]]
        placed = tuple(("target", i, "placed_in_scope") for i in idx)
        members = tuple(("target", i, "members_placed") for i in idx)
        total_placed = ("cohort", "placed")
        total_members = (t["attribute"], t["value"], "placed")
        if total_placed in cells and sum(cells[k] for k in placed) == cells[total_placed]:
            lines.append(Line(total_placed, placed))
        if total_members in cells and sum(cells[k] for k in members) == cells[total_members]:
            lines.append(Line(total_members, members))
        # Within a scope, members <= placed: no equation, so no line.
    return lines
