"""Numeric command-line values checked where they are typed: finite, in a sensible range.

click's ``FloatRange`` lets ``nan`` through (every comparison with it is
false) and ``inf`` whenever there is no upper bound; ``float('inf')`` seconds
would be stored in the round's options as ``Infinity``, which is not JSON.
"""

from __future__ import annotations

import math

import click


class FiniteFloat(click.ParamType):
    """A finite number in [low, high] (``low`` excluded when ``low_open``)."""

    name = "number"

    def __init__(self, low: float, high: float, *, low_open: bool = False, unit: str = ""):
        self.low, self.high, self.low_open, self.unit = low, high, low_open, unit

    def convert(self, value, param, ctx):
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            number = float(value)
        else:
            try:
                number = float(str(value).strip())
            except ValueError:
                self.fail(f"{value!r} is not a number.", param, ctx)
        too_low = number <= self.low if self.low_open else number < self.low
        if not math.isfinite(number) or too_low or number > self.high:
            bound = "more than" if self.low_open else "at least"
            self.fail(
                f"{value!r} is not a finite number {bound} {self.low:g} and at most {self.high:g}{self.unit}.",
                param,
                ctx,
            )
        return number

    def __repr__(self) -> str:  # pragma: no cover - click's help
        return f"FiniteFloat({self.low}, {self.high})"


# One day: no solve of a scheme this size needs longer, and a typo (a 6000 s limit meant as 60) shows up.
SECONDS = FiniteFloat(0.0, 86_400.0, low_open=True, unit=" seconds")
WEIGHT = FiniteFloat(0.0, 1_000_000.0)
SHARE = FiniteFloat(0.0, 1.0)
WORKERS = click.IntRange(1, 64)
# Round numbers are stored as 32-bit integers.
ROUND_NUMBER = click.IntRange(1, 2**31 - 1)
