"""Shares and weights as exact fractions: the one conversion every part of placement uses.

The share a coordinator writes is the share enforced. ``0.33333`` is
33,333/100,000, not one third: with 1 of 3 placed in a scope, a ``max_share``
of 0.33333 is broken (1/3 > 0.33333), and the solver, ``check_validity``,
the diagnosis, the audit and the benchmarks' references all say so, because
they all read the share through :func:`exact_share`. Shares are stored as
the decimals written; the import refuses a fraction such as ``1/3`` with the
decimal to write instead (``schemas._share``: 0.333333 for at least a third,
0.333334 for at most, the same whole people in any scope under a million
placed), and takes one that is a decimal exactly (``1/4`` is 0.25). The
library API takes fractions as they are.

A float is read through its shortest decimal form (``repr``): the float that
came from the text ``0.35`` is read back as exactly 7/20. Denominators are
capped (:data:`MAX_SHARE_DENOMINATOR`) so the integer rows built from a share
stay far inside 64 bits.
"""

from __future__ import annotations

import math
from decimal import Decimal, InvalidOperation
from fractions import Fraction

# 0.123456789 is the finest share accepted; finer ones would push the integer
# rows (denominator x people in a scope) towards the limits of 64-bit solvers.
MAX_SHARE_DENOMINATOR = 10**9
WEIGHT_MAX_DENOMINATOR = 1_000

ShareLike = float | int | str | Fraction | Decimal


class ShareError(ValueError):
    """A share that is not a number between 0 and 1 with at most 9 decimals (or a fraction a/b)."""


def exact_share(value: ShareLike) -> Fraction:
    """The share exactly as written: ``0.35`` -> 7/20, ``"1/3"`` -> 1/3, ``"35%"`` -> 7/20.

    Raises :class:`ShareError` for text that is not a share, a value outside
    [0, 1], or a decimal finer than 1/10^9.
    """
    if isinstance(value, Fraction):
        out = value
    elif isinstance(value, bool):
        raise ShareError(f"{value!r} is not a share")
    elif isinstance(value, int):
        out = Fraction(value)
    elif isinstance(value, float):
        if not math.isfinite(value):
            raise ShareError(f"{value!r} is not a share")
        out = Fraction(repr(value))  # the shortest decimal that reads back as this float
    elif isinstance(value, Decimal):
        out = Fraction(value)
    elif isinstance(value, str):
        out = _parse(value)
    else:
        raise ShareError(f"{value!r} is not a share")
    if not 0 <= out <= 1:
        raise ShareError(f"{share_text(out)} is not between 0 and 1")
    if out.denominator > MAX_SHARE_DENOMINATOR:
        raise ShareError(f"{value} has more than 9 decimal places")
    return out


def _parse(text: str) -> Fraction:
    s = text.strip()
    try:
        if s.endswith("%"):
            return Fraction(Decimal(s[:-1].strip())) / 100
        if "/" in s:
            num, den = (part.strip() for part in s.split("/", 1))
            if not num.isdigit() or not den.isdigit() or int(den) == 0:
                raise ShareError(f"{text!r} is not a fraction a/b of whole numbers")
            return Fraction(int(num), int(den))
        return Fraction(Decimal(s))
    except (InvalidOperation, ValueError) as exc:
        if isinstance(exc, ShareError):
            raise
        raise ShareError(f"{text!r} is not a number") from None


def exact_weight(value: float | int | Fraction) -> Fraction:
    """A penalty weight as a fraction with a small denominator (2.5 -> 5/2): weights scale level 2 only."""
    return Fraction(value).limit_denominator(WEIGHT_MAX_DENOMINATOR)


def share_text(value: ShareLike) -> str:
    """A share as a coordinator would write it back: ``0.35``, ``1/3``."""
    f = value if isinstance(value, Fraction) else exact_share(value)
    d = f.denominator
    while d % 2 == 0:
        d //= 2
    while d % 5 == 0:
        d //= 5
    if d == 1:  # a terminating decimal
        return format(Decimal(f.numerator) / Decimal(f.denominator), "f")
    return f"{f.numerator}/{f.denominator}"
