"""The scheme's vocabulary: regions, organisation types, codes and derived groups.

One place for the canonical values (``shared/spec/formats.md``) so that
ingestion, the encoder and the audit never disagree about what a code means.
"""

from __future__ import annotations

REGIONS: tuple[str, ...] = (
    "London",
    "South East",
    "South West",
    "Midlands",
    "East of England",
    "North West",
    "North East and Yorkshire",
)
ORG_TYPES: tuple[str, ...] = ("acute", "mental_health", "community", "ambulance", "ics", "ahsn", "other")
SPECIALISMS: tuple[str, ...] = ("data", "digital", "technology")

# Gender identity as the candidate stated it (NHS Data Dictionary GENDER IDENTITY CODE):
# female (2, including trans women), male (1, including trans men), non_binary (3),
# other (4, not listed), not_stated (Z, declined), not_known (X). The attribute keeps
# its historical name ``sex`` (targets and reports name it so).
SEX_VALUES = ("female", "male", "non_binary", "other", "not_stated", "not_known")
# The NHS codes, accepted in a file as they come from a recruitment system.
SEX_CODES: dict[str, str] = {
    "1": "male",
    "2": "female",
    "3": "non_binary",
    "4": "other",
    "Z": "not_stated",
    "X": "not_known",
}
DISABILITY_VALUES = ("yes", "no", "not_stated", "not_known")
CAREER_CHANGER_VALUES = ("yes", "no", "not_known")
MISSING_STATES = ("not_stated", "not_known")

# NHS Data Dictionary ETHNIC CATEGORY (2001 census classification). I, O and Q are not used.
ETHNIC_GROUP_OF_CODE: dict[str, str] = {
    **dict.fromkeys("ABC", "white"),
    **dict.fromkeys("DEFG", "mixed"),
    **dict.fromkeys("HJKL", "asian"),
    **dict.fromkeys("MNP", "black"),
    **dict.fromkeys("RS", "other"),
    "Z": "not_stated",
    "99": "not_known",
}
ETHNIC_GROUPS = ("white", "mixed", "asian", "black", "other", "not_stated", "not_known")


def ethnic_group(code: str) -> str:
    """Derived ethnic group of a raw NHS ethnic category code (already validated)."""
    return ETHNIC_GROUP_OF_CODE[code]


def minority_ethnic(group: str) -> str:
    """``yes`` for every group but white; the missing states stay missing.

    Reports label ``yes`` "All other ethnic groups combined" and ``no`` "White"
    (Race Disparity Unit style guide: not BAME/BME).
    """
    if group in MISSING_STATES:
        return group
    return "no" if group == "white" else "yes"


# Attributes a target or the audit may name, and which of them are protected
# characteristics under the Equality Act 2010 (a hard share target on these is a quota).
TARGET_ATTRIBUTES = ("sex", "ethnic_group", "minority_ethnic", "disability", "career_changer", "home_region")
PROTECTED_ATTRIBUTES = frozenset({"sex", "ethnic_group", "minority_ethnic", "disability"})
# Special category data (UK GDPR Art. 9): never in logs, errors or default exports.
SPECIAL_CATEGORY_ATTRIBUTES = frozenset({"ethnic_group", "minority_ethnic", "disability", "ethnic_category"})
# Columns whose values no message ever repeats: special category data, and stated gender (it can reveal
# trans status, a protected characteristic: gender reassignment; shared/spec/formats.md).
NEVER_ECHOED = SPECIAL_CATEGORY_ATTRIBUTES | {"sex"}

ATTRIBUTE_VALUES: dict[str, tuple[str, ...]] = {
    "sex": SEX_VALUES,
    "ethnic_group": ETHNIC_GROUPS,
    "minority_ethnic": ("yes", "no", "not_stated", "not_known"),
    "disability": DISABILITY_VALUES,
    "career_changer": CAREER_CHANGER_VALUES,
    "home_region": REGIONS,
}


def looks_sensitive(value: str) -> bool:
    """Whether a cell's text is a value of a never-echoed column (``not_stated``, an ethnic code, ``female``...).

    Such a value in another column usually means the row's cells shifted; it is
    not repeated in the message then (the row and column still are).
    """
    folded = value.strip().casefold()
    vocabulary = {*SEX_VALUES, *DISABILITY_VALUES, *ETHNIC_GROUPS, *ETHNIC_GROUP_OF_CODE, "non_binary", "other"}
    # "yes" and "no" answer many questions (relocation, career changer, an offer): alone they tell nothing.
    return folded in {v.casefold() for v in vocabulary} - {"yes", "no"}


# --- After placement (outcomes.csv) -------------------------------------------------------------
# What became of each graduate: events in the NHS graduate scheme's own terms.
OUTCOME_EVENTS: tuple[str, ...] = ("started", "completed", "left", "promoted", "employed")
# Agenda for Change pay bands, lowest first (8a-8d sit between 7 and 9).
AFC_BANDS: tuple[str, ...] = ("2", "3", "4", "5", "6", "7", "8a", "8b", "8c", "8d", "9")


def band_order(band: str) -> int:
    """A band's place in the Agenda for Change ladder (2 lowest), for comparing two bands."""
    return AFC_BANDS.index(band)
