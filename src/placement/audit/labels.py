"""Words the reports use: characteristic and group labels, and what each flag means.

Labels follow the Race Disparity Unit / ONS style: "White" and "All other
ethnic groups combined", never BAME/BME.
"""

from __future__ import annotations

from typing import Final

from ..domain import ATTRIBUTE_VALUES, MISSING_STATES, PROTECTED_ATTRIBUTES, SPECIAL_CATEGORY_ATTRIBUTES

CHARACTERISTIC_LABELS: Final[dict[str, str]] = {
    "sex": "Sex",
    "ethnic_group": "Ethnic group",
    "minority_ethnic": "Ethnicity: White and all other ethnic groups combined",
    "disability": "Disability",
    "career_changer": "Career changer",
    "home_region": "Home region",
}

GROUP_LABELS: Final[dict[str, dict[str, str]]] = {
    "sex": {"female": "Female", "male": "Male", "non_binary": "Non-binary", "other": "Other gender identity"},
    "ethnic_group": {
        "white": "White",
        "mixed": "Mixed",
        "asian": "Asian or Asian British",
        "black": "Black or Black British",
        "other": "Other ethnic group",
    },
    "minority_ethnic": {"no": "White", "yes": "All other ethnic groups combined"},
    "disability": {"no": "Not disabled", "yes": "Disabled"},
    "career_changer": {"no": "Not a career changer", "yes": "Career changer"},
    "home_region": {},
}
MISSING_LABELS: Final = {"not_stated": "Not stated (declined to say)", "not_known": "Not known"}

# The relative likelihood's reference and comparison groups (WRES indicator 2, WDES metric 2 form).
RELATIVE_LIKELIHOOD_PAIRS: Final[dict[str, tuple[str, str]]] = {
    "minority_ethnic": ("no", "yes"),
    "disability": ("no", "yes"),
}

NOT_PROTECTED_NOTE: Final = (
    "Not a protected characteristic under the Equality Act 2010; reported for the scheme's own "
    "widening-participation aims."
)


# Display order where it differs from the domain's: White first, as the WRES tables put it.
GROUP_ORDER: Final[dict[str, tuple[str, ...]]] = {
    "minority_ethnic": ("no", "yes", "not_stated", "not_known"),
}


def groups_of(characteristic: str) -> tuple[str, ...]:
    return GROUP_ORDER.get(characteristic, ATTRIBUTE_VALUES[characteristic])


def is_missing(value: str) -> bool:
    return value in MISSING_STATES


def group_label(characteristic: str, value: str) -> str:
    if value in MISSING_LABELS:
        return MISSING_LABELS[value]
    return GROUP_LABELS.get(characteristic, {}).get(value, value)


def characteristic_label(characteristic: str) -> str:
    return CHARACTERISTIC_LABELS.get(characteristic, characteristic)


def is_protected(characteristic: str) -> bool:
    return characteristic in PROTECTED_ATTRIBUTES


def is_special_category(characteristic: str) -> bool:
    return characteristic in SPECIAL_CATEGORY_ATTRIBUTES


def ordinal(n: int | str) -> str:
    """1 -> "1st", "6+" -> "6th or later"."""
    s = str(n)
    if s.endswith("+"):
        return f"{ordinal(int(s[:-1]))} or later"
    k = int(s)
    suffix = "th" if 10 <= k % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(k % 10, "th")
    return f"{k}{suffix}"


def pct(x: float | None, digits: int = 0) -> str:
    return "—" if x is None else f"{100 * x:.{digits}f}%"


FOUR_FIFTHS_SOURCE: Final = (
    "the four-fifths rule of the US EEOC Uniform Guidelines on Employee Selection Procedures (29 CFR 1607.4(D))"
)
RL_BAND_SOURCE: Final = (
    "the band 0.80–1.25 is the four-fifths rule made symmetric, as the Aequitas bias audit toolkit "
    "computes disparity; it is not an NHS England threshold (the Workforce Race and Disability "
    "Equality Standards publish the ratio without a pass mark)"
)
