"""One exception hierarchy for the whole data flow.

Every message says what went wrong *and what to do about it*, because the
person reading it is a scheme coordinator, not the developer. Messages never
carry special category values (ethnicity, disability): a bad ethnic code is
reported by file, row and column only.
"""

from __future__ import annotations

from dataclasses import dataclass

# Exit codes of the command line (documented in the README).
EXIT_OK = 0
EXIT_BAD_INPUT = 1  # bad input or usage
EXIT_INFEASIBLE = 3  # no placement meets every hard constraint
EXIT_NO_ANSWER = 4  # no answer within the time limit
EXIT_INTERRUPTED = 130  # Ctrl-C (128 + SIGINT)


class PlacementError(Exception):
    """Base of every error the CLI turns into a clear message."""

    exit_code = EXIT_BAD_INPUT

    def __init__(self, message: str, hint: str | None = None):
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:  # pragma: no cover - trivial
        return f"{self.message}\n{self.hint}" if self.hint else self.message


class ConfigError(PlacementError):
    """A setting (database URL, option, mapping file) is wrong."""


class SchemaNotReady(PlacementError):
    """The database schema is missing or older than this version of placement."""


@dataclass(frozen=True)
class RowProblem:
    """One thing wrong with one cell of an input file."""

    file: str
    row: int | None  # 1-based line number in the file as a spreadsheet shows it (header = 1)
    column: str | None
    value: str | None  # None when the value must not be shown (special category data)
    problem: str
    fix: str

    def render(self) -> str:
        where = self.file
        if self.row is not None:
            where += f", row {self.row}"
        if self.column:
            where += f", column '{self.column}'"
        shown = "" if self.value is None else f" (value {self.value!r})"
        return f"{where}: {self.problem}{shown}. Fix: {self.fix}"


class InputError(PlacementError):
    """Input files are invalid. Carries every problem found, up to a limit; nothing was written."""

    def __init__(self, problems: list[RowProblem], *, truncated: int = 0):
        # File by file (in the order first reported), then by row: a file's own problems (no row) first.
        order = {f: i for i, f in reversed(list(enumerate(p.file for p in problems)))}
        problems = sorted(problems, key=lambda p: (order[p.file], p.row or 0))
        self.problems = problems
        self.truncated = truncated
        lines = [p.render() for p in problems]
        if truncated:
            lines.append(f"... and {truncated} more problems not shown.")
        message = f"{len(problems) + truncated} problem(s) in the input; nothing was written.\n" + "\n".join(lines)
        super().__init__(message, "Correct the file(s) (or the mapping file) and import again.")


class QuotaRefused(PlacementError):
    """A hard share target on a protected characteristic without the coordinator's acknowledgement."""


class RoundError(PlacementError):
    """A round operation that does not fit the round's state (approve twice, accept an unoffered place...)."""


class SolveTimeout(RoundError):
    """The solver gave no answer within its time limit (nor within the grace after it)."""

    exit_code = EXIT_NO_ANSWER


class Interrupted(RoundError):
    """The command was interrupted (Ctrl-C); nothing was stored."""

    exit_code = EXIT_INTERRUPTED


class ConcurrencyError(PlacementError):
    """Another run changed the same scheme at the same time."""


class NotFound(PlacementError):
    """A candidate, host or round named on the command line does not exist."""
