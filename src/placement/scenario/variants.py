"""What-if variants of a round: a few words each, applied to the round's stored inputs.

A variant is one or more changes separated by ``;``. Each change is one of:

- ``no targets`` — drop every diversity target;
- ``drop NAME`` (or ``without NAME``) — drop one target (every scope of it);
- ``NAME min SHARE`` / ``NAME max SHARE`` — change a target's share (``0.45``
  or ``45%``; ``none`` removes that bound);
- ``NAME hard`` / ``NAME soft`` / ``NAME soft weight W`` — change its strength;
- ``add NAME: ATTRIBUTE=VALUE min SHARE [max SHARE] [per region|per org_type|scope=SCOPE] [hard|soft [weight W]]``
  — a new target (scope ``cohort`` unless given; soft with weight 10 unless given);
- ``objective=rank-sum|rank-maximal|generous``, ``stability=none|strict|prefer``,
  ``tie-break=host-order|none`` — a solver option;
- ``as solved`` — no change (the round itself).

A variant is parsed whole before anything is solved, and a change that does
not parse or names no target of the round is refused with the fix.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from fractions import Fraction
from typing import Any

import numpy as np

from ..domain import ATTRIBUTE_VALUES, PROTECTED_ATTRIBUTES, TARGET_ATTRIBUTES
from ..errors import ConfigError, QuotaRefused
from ..shares import ShareError, exact_share, share_text
from ..solver.problem import OBJECTIVES, STABILITIES, TIE_BREAKS, Problem, Target

OPTION_VALUES: dict[str, tuple[str, ...]] = {"objective": OBJECTIVES, "stability": STABILITIES, "tie_break": TIE_BREAKS}
DEFAULT_WEIGHT = 10.0
GRAMMAR = (
    "Write a variant as changes separated by ';': 'no targets', 'drop NAME', 'NAME min 0.45', 'NAME max 60%', "
    "'NAME hard', 'NAME soft weight 5', 'add NAME: sex=female min 0.4 per region', 'objective=generous', "
    "'stability=strict', 'tie-break=none', or 'as solved'. See docs/scenario.md."
)


@dataclass(frozen=True)
class Change:
    """One parsed change: ``kind`` is drop_all, drop, share, strength, add, option or none."""

    kind: str
    target: str | None = None
    bound: str | None = None  # "min" / "max"
    share: Fraction | None = None  # exact, as written (``shares.exact_share``)
    hard: bool | None = None
    weight: float | None = None
    attribute: str | None = None
    value: str | None = None
    min_share: Fraction | None = None
    max_share: Fraction | None = None
    scope: str = "cohort"
    option: str | None = None
    option_value: str | None = None

    def words(self) -> str:
        """The change in plain words, for the report."""
        if self.kind == "drop_all":
            return "no diversity targets"
        if self.kind == "drop":
            return f"without target “{self.target}”"
        if self.kind == "share":
            return f"“{self.target}” {self.bound} " + ("none" if self.share is None else _percent(self.share))
        if self.kind == "strength":
            return f"“{self.target}” " + (
                "hard" if self.hard else "soft" + (f" (weight {self.weight:g})" if self.weight else "")
            )
        if self.kind == "add":
            bounds = " and ".join(
                b
                for b in (
                    f"at least {_percent(self.min_share)}" if self.min_share is not None else "",
                    f"at most {_percent(self.max_share)}" if self.max_share is not None else "",
                )
                if b
            )
            return f"add target “{self.target}”: {bounds} {self.attribute}={self.value} in {self.scope}, " + (
                "hard" if self.hard else f"soft (weight {self.weight:g})"
            )
        if self.kind == "option":
            return f"{self.option.replace('_', '-')} = {self.option_value}"  # type: ignore[union-attr]
        return "as solved"


def _percent(share: Fraction) -> str:
    """A share in words, exactly as written: 9/20 -> "45%", 0.333 -> "0.333", 1/3 -> "1/3"."""
    pct = share * 100
    return f"{pct.numerator}%" if pct.denominator == 1 else share_text(share)


@dataclass(frozen=True)
class Variant:
    label: str  # as the coordinator wrote it
    changes: tuple[Change, ...]

    @property
    def is_base(self) -> bool:
        return all(c.kind == "none" for c in self.changes)

    @property
    def effort(self) -> int:
        """A guess at how hard the variant is to solve, to start the hardest first: stability (CP-SAT) 3,
        another objective (more levels) 2, a target added, changed or made hard 1 (it may bind, and the
        round's answer then no longer settles it), a target dropped or softened 0."""
        guess = 0
        for c in self.changes:
            if c.kind == "option" and c.option == "stability" and c.option_value != "none":
                guess = max(guess, 3)
            elif c.kind == "option" and c.option == "objective":
                guess = max(guess, 2)
            elif c.kind in ("add", "share") or (c.kind == "strength" and c.hard):
                guess = max(guess, 1)
        return guess


def _problem(variant: str, change: str, fix: str) -> ConfigError:
    return ConfigError(f"Variant “{variant}”: cannot read “{change}” — {fix}.", GRAMMAR)


def _share(text: str, variant: str, change: str) -> Fraction | None:
    """A share as written, exactly (``placement.shares.exact_share``, as the solver, checks and audit read it)."""
    if text.strip().lower() == "none":
        return None
    try:
        return exact_share(text)
    except ShareError as exc:
        raise _problem(variant, change, f"“{text}” is not a share: {exc} (write 0.45, 45% or 9/20)") from None


def _weight(text: str, variant: str, change: str) -> float:
    try:
        w = float(text)
    except ValueError:
        raise _problem(variant, change, f"“{text}” is not a weight (a number such as 10)") from None
    if not w > 0 or w != w or w == float("inf"):
        raise _problem(variant, change, "a soft target's weight must be a positive number")
    return w


_ADD = re.compile(r"^add\s+(?P<name>[^:]+?)\s*:\s*(?P<attr>[a-z_]+)\s*=\s*(?P<value>\S+)\s*(?P<rest>.*)$", re.I)


def parse_variant(text: str) -> Variant:
    """One ``--variant`` string as a :class:`Variant` (ConfigError naming the change and the fix)."""
    label = " ".join(text.split())
    if not label:
        raise ConfigError("An empty --variant was given.", GRAMMAR)
    changes = []
    for raw in label.split(";"):
        part = raw.strip()
        if part:
            changes.append(_parse_change(part, label))
    if not changes:
        raise ConfigError(f"Variant “{label}” has no change.", GRAMMAR)
    return Variant(label, tuple(changes))


def _parse_change(part: str, variant: str) -> Change:
    low = part.lower()
    if low in ("no targets", "without targets", "no diversity targets"):
        return Change("drop_all")
    if low in ("as solved", "base", "as is"):
        return Change("none")
    if "=" in part and not low.startswith("add "):
        key, _, value = (x.strip() for x in part.partition("="))
        option = key.lower().replace("-", "_")
        if option not in OPTION_VALUES:
            raise _problem(
                variant, part, f"“{key}” is not an option a variant can change (objective, stability, tie-break)"
            )
        if value.lower() not in OPTION_VALUES[option]:
            raise _problem(variant, part, f"{key} is one of {', '.join(OPTION_VALUES[option])}")
        return Change("option", option=option, option_value=value.lower())
    m = _ADD.match(part)
    if m:
        return _parse_add(m, part, variant)
    words = part.split()
    if words[0].lower() in ("drop", "without", "remove") and len(words) == 2:
        return Change("drop", target=words[1])
    if len(words) == 3 and words[1].lower() in ("min", "max"):
        return Change("share", target=words[0], bound=words[1].lower(), share=_share(words[2], variant, part))
    if len(words) == 2 and words[1].lower() in ("hard", "soft"):
        return Change("strength", target=words[0], hard=words[1].lower() == "hard")
    if len(words) == 4 and words[1].lower() == "soft" and words[2].lower() == "weight":
        return Change("strength", target=words[0], hard=False, weight=_weight(words[3], variant, part))
    raise _problem(variant, part, "it is none of the changes a variant can make")


def _parse_add(m: re.Match[str], part: str, variant: str) -> Change:
    name, attr, value = m["name"].strip(), m["attr"].lower(), m["value"]
    if attr not in TARGET_ATTRIBUTES:
        raise _problem(variant, part, f"“{attr}” is not a target attribute ({', '.join(TARGET_ATTRIBUTES)})")
    known = ATTRIBUTE_VALUES.get(attr)
    if known and value not in known:
        raise _problem(variant, part, f"{attr} takes one of {', '.join(known)}")
    tokens = m["rest"].split()
    lo = hi = None
    weight: float | None = None
    hard = False
    scope = "cohort"
    i = 0
    while i < len(tokens):
        t = tokens[i].lower()
        nxt = tokens[i + 1] if i + 1 < len(tokens) else None
        if t in ("min", "max") and nxt is not None:
            if t == "min":
                lo = _share(nxt, variant, part)
            else:
                hi = _share(nxt, variant, part)
            i += 2
        elif t == "per" and nxt is not None and nxt.lower() in ("region", "org_type"):
            scope = f"{nxt.lower()}=*"
            i += 2
        elif t == "scope" and nxt is not None:
            scope = nxt
            i += 2
        elif t.startswith("scope=") and len(t) > 6:
            scope = tokens[i][6:]
            i += 1
        elif t == "hard":
            hard = True
            i += 1
        elif t == "soft":
            hard = False
            i += 1
        elif t == "weight" and nxt is not None:
            weight = _weight(nxt, variant, part)
            i += 2
        else:
            raise _problem(variant, part, f"“{tokens[i]}” is not understood here")
    if lo is None and hi is None:
        raise _problem(variant, part, "a new target needs a min or a max share")
    if lo is not None and hi is not None and lo > hi:
        raise _problem(variant, part, "its min share is above its max share")
    return Change(
        "add",
        target=name,
        attribute=attr,
        value=value,
        min_share=lo,
        max_share=hi,
        scope=scope,
        hard=hard,
        weight=None if hard else (weight or DEFAULT_WEIGHT),
    )


# --- Applying a variant ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Applied:
    """A variant applied: the problem to solve and the options to solve it with."""

    problem: Problem
    options: dict[str, Any]  # the round's stored options with the variant's changes
    quotas: tuple[str, ...]  # hard share targets on a protected characteristic it has


def apply_variant(
    variant: Variant,
    problem: Problem,
    options: Mapping[str, Any],
    *,
    attributes: Sequence[Mapping[str, str]],
    host_org_types: Sequence[str],
    acknowledged: Sequence[str] = (),
    allow_quota: bool = False,
) -> Applied:
    """``problem`` and ``options`` as the variant changes them.

    ``attributes`` are each encoded candidate's characteristics (for a new
    target's members), ``host_org_types`` each encoded host's type (for an
    ``org_type`` scope). A hard share target on a protected characteristic
    that the round did not already have (``acknowledged``) is a quota: refused
    unless ``allow_quota``, as ``placement solve`` refuses it.
    """
    targets = list(problem.targets)
    opts = dict(options)
    names = {t.name for t in targets}
    for ch in variant.changes:
        if ch.kind in ("drop", "share", "strength") and ch.target not in names:
            known = ", ".join(sorted(names)) or "none"
            raise ConfigError(
                f"Variant “{variant.label}”: the round has no target named “{ch.target}”.",
                f"Its targets are: {known}. Names are as in targets.csv.",
            )
        if ch.kind == "drop_all":
            targets = []
        elif ch.kind == "drop":
            targets = [t for t in targets if t.name != ch.target]
        elif ch.kind == "share":
            targets = [
                (replace(t, min_share=ch.share) if ch.bound == "min" else replace(t, max_share=ch.share))
                if t.name == ch.target
                else t
                for t in targets
            ]
            for t in targets:
                if t.name == ch.target and t.min_share is None and t.max_share is None:
                    raise ConfigError(
                        f"Variant “{variant.label}”: target “{ch.target}” would have neither a min nor a max share.",
                        f"Drop it instead: 'drop {ch.target}'.",
                    )
        elif ch.kind == "strength":
            targets = [
                replace(t, hard=bool(ch.hard), weight=ch.weight or t.weight or DEFAULT_WEIGHT)
                if t.name == ch.target
                else t
                for t in targets
            ]
        elif ch.kind == "add":
            if ch.target in names:
                raise ConfigError(
                    f"Variant “{variant.label}”: the round already has a target named “{ch.target}”.",
                    f"Change it ('{ch.target} min 0.45') or give the new one another name.",
                )
            targets += _new_targets(ch, problem, attributes, host_org_types)
        elif ch.kind == "option":
            opts[ch.option] = ch.option_value  # type: ignore[index]
        names = {t.name for t in targets}
    quotas = tuple(
        dict.fromkeys(
            t.name
            for t in targets
            if t.hard and t.attribute in PROTECTED_ATTRIBUTES and t.min_share is not None and t.min_share > 0
        )
    )
    new = [q for q in quotas if q not in acknowledged]
    if new and not allow_quota:
        from ..rounds import QUOTA_EXPLANATION

        raise QuotaRefused(
            f"Variant “{variant.label}” makes {', '.join(new)} a hard share target on a protected characteristic.",
            QUOTA_EXPLANATION.replace("--allow-quota", "--allow-quota (on scenario compare)"),
        )
    return Applied(replace(problem, targets=tuple(targets)), opts, quotas)


def _new_targets(
    ch: Change, problem: Problem, attributes: Sequence[Mapping[str, str]], org_types: Sequence[str]
) -> list[Target]:
    member = np.array([a.get(ch.attribute or "") == ch.value for a in attributes], dtype=bool)
    key, _, value = ch.scope.partition("=")
    hosts = np.arange(problem.n_hosts, dtype=np.int32)
    if ch.scope == "cohort":
        scopes = [("cohort", hosts)]
    elif key == "region":
        labels = list(problem.region_labels)
        chosen = labels if value == "*" else [value]
        if value != "*" and value not in labels:
            raise ConfigError(
                f"Target “{ch.target}”: no host of the round is in region “{value}”.",
                f"Regions of the round's hosts: {', '.join(labels)}.",
            )
        scopes = [(f"region={r}", hosts[problem.host_region == labels.index(r)]) for r in chosen]
    elif key == "org_type":
        kinds = sorted(set(org_types))
        chosen = kinds if value == "*" else [value]
        if value != "*" and value not in kinds:
            raise ConfigError(
                f"Target “{ch.target}”: no host of the round is of type “{value}”.",
                f"Types of the round's hosts: {', '.join(kinds)}.",
            )
        scopes = [(f"org_type={k}", hosts[np.array([o == k for o in org_types], dtype=bool)]) for k in chosen]
    elif key == "host":
        labels = list(problem.host_labels)
        if value not in labels:
            raise ConfigError(
                f"Target “{ch.target}”: the round has no host “{value}”.", "Use a host id from hosts.csv."
            )
        scopes = [(ch.scope, np.array([labels.index(value)], dtype=np.int32))]
    else:
        raise ConfigError(
            f"Target “{ch.target}”: “{ch.scope}” is not a scope.",
            "Use cohort, region=NAME, region=*, org_type=TYPE, org_type=* or host=ID.",
        )
    return [
        Target(
            name=ch.target or "",
            scope=scope,
            scope_hosts=idx.astype(np.int32),
            member=member,
            min_share=ch.min_share,
            max_share=ch.max_share,
            hard=bool(ch.hard),
            weight=float(ch.weight or 0.0),
            attribute=ch.attribute or "",
            value=ch.value or "",
        )
        for scope, idx in scopes
    ]
