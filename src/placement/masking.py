"""Special category data on the terminal: one rule for explain, solve, round show and their --json.

Targets on ethnicity or disability (UK GDPR Art. 9) are counted per scope;
printed beside a list of placements, a small count singles a person out
("host Q7L 0 / 1 (0%)" next to "C009 | Q7L" says C009 is not disabled). So,
in every command's output:

- a scope's count of members and of non-members of such a target's group is
  shown only when neither is 1-7 (the audit's primary suppression); otherwise
  the count, the share and whether the scope met the target are withheld
  (``*``). The restricted audit (``placement audit N --no-suppression``) has
  the exact figures;
- a sentence about such a target (a solver diagnosis) keeps its percentages
  but its counts are withheld;
- what is read to a candidate (``explain``) never names such a target, nor
  another candidate: see :func:`for_candidate`.

Targets on ``sex`` are not special category data and are shown in full.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from .domain import SPECIAL_CATEGORY_ATTRIBUTES

SMALL_MAX = 7  # as the audit's disclosure control: counts 1..7 single people out
WITHHELD = "*"
SPECIAL_TARGET_WORDS = "a diversity target the scheme set"
# How solver messages name special category groups ("disability = yes", "minority_ethnic = yes", ...).
_SPECIAL_WORDS = tuple(
    sorted(
        {a.replace("_", " ") for a in SPECIAL_CATEGORY_ATTRIBUTES}
        | set(SPECIAL_CATEGORY_ATTRIBUTES)
        | {"disab", "ethnic"}
    )
)
_COUNT = re.compile(r"(?<![\w.])\d+(?![\w%]|\.\d)")  # whole numbers, not shares (10%) or decimals
_TOKEN = re.compile(r"[^\s,;:()'\"]+")
_SENTENCE = re.compile(r"(?<=[.;])\s+")


def is_special(attribute: str | None) -> bool:
    return attribute in SPECIAL_CATEGORY_ATTRIBUTES


def is_small(n: int) -> bool:
    return 1 <= n <= SMALL_MAX


def withhold_scope(attribute: str | None, members: int, placed: int) -> bool:
    """Whether a target scope's counts must be withheld: a special category target with 1-7 members or non-members."""
    return is_special(attribute) and (is_small(members) or is_small(placed - members))


def mentions_special(text: str, special_names: Iterable[str] = ()) -> bool:
    """Whether ``text`` names special category data, or one of the special category targets (as a whole word)."""
    lowered = text.casefold()
    return any(w in lowered for w in _SPECIAL_WORDS) or any(
        re.search(rf"(?<![\w-]){re.escape(n.casefold())}(?![\w-])", lowered) for n in special_names if n
    )


def diagnosis_line(line: str, special_names: Iterable[str] = ()) -> str:
    """A solver diagnosis for the coordinator: counts withheld in sentences about special category targets."""
    names = list(special_names)
    return " ".join(
        _COUNT.sub(WITHHELD, sentence) if mentions_special(sentence, names) else sentence
        for sentence in _SENTENCE.split(line)
    )


def for_candidate(
    text: str, special_names: Iterable[str], others: frozenset[str], *, instead: str = SPECIAL_TARGET_WORDS
) -> str:
    """``text`` safe to read to a candidate (explain): every line of an explanation goes through this.

    - a sentence involving a special category target (by name, or naming such
      data at all) says only ``instead`` ("a diversity target the scheme
      set"): its name, scope, shares and counts could tell how the candidate
      was counted ("allows at most 0% disability = yes");
    - other candidates (``others``) are never named: "another candidate".
    """
    names = [n for n in special_names if n]
    out = []
    for sentence in _SENTENCE.split(text):
        if mentions_special(sentence, names):
            ending = sentence[-1] if sentence.endswith((".", ";")) else ""
            lead, colon, _ = sentence.partition(": ")
            keep_lead = colon and not mentions_special(lead, names)
            sentence = f"{lead}{colon}{instead}{ending}" if keep_lead else f"{instead}{ending}"
        out.append(sentence)
    return _TOKEN.sub(lambda m: "another candidate" if m.group(0).rstrip(".") in others else m.group(0), " ".join(out))
