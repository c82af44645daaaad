"""Synthetic placement schemes of any size, in the canonical CSV format.

A generated scheme looks like a year of a national graduate scheme: candidates
spread over the seven NHS England regions in proportion to population, hosts
(mostly acute trusts) offering one to six places each with fewer places in
all than candidates, preferences skewed towards a few popular hosts and
towards the candidate's home region, realistic declaration rates for the
equality-monitoring fields, a few linked pairs and barred pairs, and the three
diversity target families of ``fixtures/sample``.

Everything is drawn from one :class:`numpy.random.Generator` seeded by the
caller, in a fixed order, so the same seed writes the same files byte for
byte. Names and emails are fictional (``@example.org``); host codes only look
like ODS codes. The word lists they come from are in generate_names.py.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .domain import ORG_TYPES, REGIONS, SPECIALISMS
from .errors import ConfigError
from .generate_names import candidate_name, email_local_part, host_codes, host_names

# --- canonical files (shared/spec/formats.md) ---------------------------------

CANDIDATE_COLUMNS = (
    "candidate_id", "given_name", "family_name", "email", "assessment_score", "specialisms",
    "home_region", "willing_to_relocate", "sex", "ethnic_category", "disability",
    "career_changer", "linked_with",
)  # fmt: skip
HOST_COLUMNS = ("host_id", "name", "org_type", "region", "capacity", "specialisms", "min_score", "min_placements")
PREFERENCE_COLUMNS = ("candidate_id", "host_id", "rank")
HOST_RANKING_COLUMNS = ("host_id", "candidate_id", "rank")
TARGET_COLUMNS = ("name", "scope", "attribute", "value", "min_share", "max_share", "strength", "weight")
PAIR_COLUMNS = ("candidate_id", "host_id", "rule", "reason")
FILE_COLUMNS: dict[str, tuple[str, ...]] = {
    "candidates.csv": CANDIDATE_COLUMNS,
    "hosts.csv": HOST_COLUMNS,
    "preferences.csv": PREFERENCE_COLUMNS,
    "host_rankings.csv": HOST_RANKING_COLUMNS,
    "targets.csv": TARGET_COLUMNS,
    "pairs.csv": PAIR_COLUMNS,
}

# The three target families of the sample scheme; the solver's acceptance test
# runs a generated 10,000-candidate scheme with exactly these. Career changer
# is not a protected characteristic, so its target may be hard without a quota
# acknowledgement; the two on protected characteristics are soft (lawful).
TARGET_FAMILIES: tuple[dict[str, str], ...] = (
    {"name": "women-per-region", "scope": "region=*", "attribute": "sex", "value": "female",
     "min_share": "0.40", "max_share": "", "strength": "soft", "weight": "5"},
    {"name": "minority-ethnic-cohort", "scope": "cohort", "attribute": "minority_ethnic", "value": "yes",
     "min_share": "0.25", "max_share": "", "strength": "soft", "weight": "5"},
    {"name": "career-changers-per-org-type", "scope": "org_type=*", "attribute": "career_changer",
     "value": "yes", "min_share": "0.15", "max_share": "", "strength": "hard", "weight": ""},
)  # fmt: skip

# --- the shape of a scheme year ----------------------------------------------

# Approximate ONS mid-year population shares of the NHS England regions, in REGIONS order.
REGION_SHARES = np.array([0.16, 0.16, 0.10, 0.19, 0.11, 0.13, 0.15])
# Host organisation mix, in ORG_TYPES order: mostly acute trusts, as among NHS trusts in England.
ORG_TYPE_SHARES = np.array([0.52, 0.14, 0.09, 0.04, 0.13, 0.04, 0.04])
# Chance that a host of each org type offers data / digital / technology places.
HOST_SPECIALISM_P = np.array([
    [0.7, 0.7, 0.8], [0.6, 0.7, 0.6], [0.6, 0.6, 0.6], [0.6, 0.5, 0.8],
    [0.9, 0.6, 0.4], [0.8, 0.8, 0.3], [0.6, 0.5, 0.8],
])  # fmt: skip
PLACES_PER_CANDIDATE = 0.85  # total capacity / candidates: not everyone can be placed
CANDIDATES_PER_HOST = 2.5
WILLING_TO_RELOCATE = 0.80
# Share of a candidate's choices in the home region (those unwilling to move
# still rank a few hosts elsewhere, which the eligibility rule then drops).
HOME_SHARE_MOBILE, HOME_SHARE_STAY = 0.62, 0.95
ZIPF_EXPONENT = 0.8  # host attractiveness ~ popularity rank ** -s: a few hosts draw many applicants
OFF_SPECIALISM_WEIGHT = 0.03  # candidates rarely rank hosts offering none of their specialisms
# Assessment centres commonly show differential attainment by ethnicity and
# disability; a small gap is modelled so that the fairness audit has something
# realistic to find. Score points below the mean.
SCORE_MEAN, SCORE_SD = 68.0, 11.0
SCORE_GAP_MINORITY, SCORE_GAP_DISABLED = 3.0, 2.0

# NHS ethnic category codes (letters), their share of white candidates and of
# minority ethnic candidates (mix loosely after England's working-age
# population and the NHS graduate intake), and the share of white candidates
# by region (London far more diverse than the South West).
ETHNIC_CODES = tuple("ABCDEFGHJKLMNPRS")
_WHITE_MIX = {"A": 0.85, "B": 0.02, "C": 0.13}
_MINORITY_MIX = {
    "D": 0.035, "E": 0.025, "F": 0.04, "G": 0.03,  # mixed
    "H": 0.22, "J": 0.15, "K": 0.07, "L": 0.07,  # asian
    "M": 0.05, "N": 0.15, "P": 0.02,  # black
    "R": 0.06, "S": 0.08,  # chinese, any other
}  # fmt: skip
WHITE_SHARE_BY_REGION = np.array([0.44, 0.76, 0.85, 0.68, 0.76, 0.72, 0.76])

# Women are a little under half of a digital, data and technology intake; at
# 42% (about 40% declared) the women-per-region target binds in some regions
# of a generated scheme, as it would in a real year.
SEX_TRUE_FEMALE = 0.42
# Equality monitoring as declared: (value, share); "" is a blank cell.
SEX_DECLARED = (("not_stated", 0.03), ("not_known", 0.005), ("", 0.015))
ETHNIC_DECLARED = (("Z", 0.03), ("99", 0.01), ("", 0.015))
DISABILITY_DECLARED = (("yes", 0.12), ("no", 0.785), ("not_stated", 0.06), ("not_known", 0.01), ("", 0.025))
CAREER_CHANGER_DECLARED = (("yes", 0.25), ("no", 0.70), ("", 0.05))

FORBID_REASONS = (
    "current employer",
    "conflict of interest: close relative in the host's digital team",
    "previously employed by the host; left under a settlement agreement",
)


@dataclass(frozen=True)
class GeneratedScheme:
    """A generated scheme as rows of strings, one list per canonical file (files absent when empty by design)."""

    tables: dict[str, list[tuple[str, ...]]]

    def row_counts(self) -> dict[str, int]:
        return {name: len(rows) for name, rows in self.tables.items()}


def generate_scheme(
    outdir: str | Path,
    *,
    candidates: int,
    seed: int,
    hosts: int | None = None,
    preferences: int = 10,
    targets: bool = True,
    host_rankings_share: float = 0.1,
) -> dict[str, int]:
    """Write a synthetic scheme to ``outdir`` in the canonical format; return rows written per file.

    ``outdir`` is created if needed. Canonical files this scheme does not have
    (``targets.csv`` with ``targets=False``, ``host_rankings.csv`` with a zero
    share) are removed, so the directory always holds exactly one scheme.
    """
    scheme = build_scheme(
        candidates=candidates,
        seed=seed,
        hosts=hosts,
        preferences=preferences,
        targets=targets,
        host_rankings_share=host_rankings_share,
    )
    return write_scheme(scheme, outdir)


def write_scheme(scheme: GeneratedScheme, outdir: str | Path) -> dict[str, int]:
    out = Path(outdir)
    out.mkdir(parents=True, exist_ok=True)
    for name in FILE_COLUMNS:
        path = out / name
        if name not in scheme.tables:
            path.unlink(missing_ok=True)
            continue
        with path.open("w", encoding="utf-8", newline="") as fh:
            writer = csv.writer(fh, lineterminator="\n")
            writer.writerow(FILE_COLUMNS[name])
            writer.writerows(scheme.tables[name])
    return scheme.row_counts()


def build_scheme(
    *,
    candidates: int,
    seed: int,
    hosts: int | None = None,
    preferences: int = 10,
    targets: bool = True,
    host_rankings_share: float = 0.1,
) -> GeneratedScheme:
    """The rows of a synthetic scheme, without writing anything (see :func:`generate_scheme`)."""
    n_hosts = max(1, round(candidates / CANDIDATES_PER_HOST)) if hosts is None else hosts
    _check_arguments(candidates, n_hosts, preferences, host_rankings_share)
    rng = np.random.default_rng(seed)
    cand = _draw_candidates(rng, candidates)
    host = _draw_hosts(rng, n_hosts, candidates)
    pref_cand, pref_host, pref_rank = _draw_preferences(rng, cand, host, min(preferences, n_hosts))

    cids, hids = cand["ids"], host["ids"]
    tables: dict[str, list[tuple[str, ...]]] = {
        "candidates.csv": cand["rows"],
        "hosts.csv": host["rows"],
        "preferences.csv": [(cids[c], hids[h], str(r)) for c, h, r in zip(pref_cand, pref_host, pref_rank)],
    }
    if host_rankings_share > 0:
        tables["host_rankings.csv"] = _draw_host_rankings(
            rng, pref_cand, pref_host, cand["score"], n_hosts, host_rankings_share, cids, hids
        )
    if targets:
        tables["targets.csv"] = [tuple(t[c] for c in TARGET_COLUMNS) for t in TARGET_FAMILIES]
    tables["pairs.csv"] = _draw_forbid_pairs(rng, pref_cand, pref_host, candidates, cids, hids)
    return GeneratedScheme(tables)


def _check_arguments(candidates: int, hosts: int, preferences: int, share: float) -> None:
    if candidates < 1:
        raise ConfigError(f"Cannot generate {candidates} candidates.", "Ask for at least 1 candidate.")
    if hosts < 1:
        raise ConfigError(f"Cannot generate {hosts} hosts.", "Ask for at least 1 host, or leave --hosts out.")
    if preferences < 1:
        raise ConfigError(f"Cannot give candidates {preferences} preferences.", "Ask for at least 1.")
    if not 0.0 <= share <= 1.0:
        raise ConfigError(f"Host rankings share {share} is not a fraction.", "Give a number from 0 to 1.")


# --- drawing helpers -----------------------------------------------------------


def _categorical(rng: np.random.Generator, probs: np.ndarray, n: int) -> np.ndarray:
    """n draws from one distribution (1-D probs) or one row per draw (2-D probs)."""
    cum = np.cumsum(probs, axis=-1)
    cum = cum / cum[..., -1:]
    u = rng.random(n)
    if cum.ndim == 1:
        return np.minimum(np.searchsorted(cum, u, side="right"), len(cum) - 1)
    return np.minimum((u[:, None] >= cum).sum(axis=1), cum.shape[1] - 1)


def _declared(
    rng: np.random.Generator, n: int, shares: tuple[tuple[str, float], ...], rest: np.ndarray | None
) -> np.ndarray:
    """Declared values: each listed value with its share; the remainder keeps ``rest`` (the true value)."""
    values = [v for v, _ in shares]
    p = np.array([s for _, s in shares])
    u = rng.random(n)
    out = np.empty(n, dtype=object) if rest is None else rest.astype(object).copy()
    edges = np.concatenate([[0.0], np.cumsum(p)])
    for value, lo, hi in zip(values, edges[:-1], edges[1:]):
        out[(u >= lo) & (u < hi)] = value
    return out


def _specialism_masks(rng: np.random.Generator, probs: np.ndarray) -> np.ndarray:
    """Bit masks (bit i = SPECIALISMS[i]) drawn per row of independent probabilities, never empty."""
    offered = rng.random(probs.shape) < probs
    empty = ~offered.any(axis=1)
    offered[empty, np.argmax(probs[empty], axis=1)] = True
    return (offered * np.array([1, 2, 4])).sum(axis=1)


def _specialism_text(mask: int) -> str:
    return ";".join(s for i, s in enumerate(SPECIALISMS) if mask >> i & 1)


# --- candidates ------------------------------------------------------------------


def _draw_candidates(rng: np.random.Generator, n: int) -> dict:
    region = _categorical(rng, REGION_SHARES, n)

    # True ethnic category (names follow it), then what was declared.
    white = WHITE_SHARE_BY_REGION[region][:, None]
    white_p = np.array([_WHITE_MIX.get(c, 0.0) for c in ETHNIC_CODES])
    minority_p = np.array([_MINORITY_MIX.get(c, 0.0) for c in ETHNIC_CODES])
    true_code = _categorical(rng, white * white_p + (1 - white) * minority_p, n)
    minority = minority_p[true_code] > 0
    ethnic = _declared(rng, n, ETHNIC_DECLARED, np.array(ETHNIC_CODES)[true_code])

    female = rng.random(n) < SEX_TRUE_FEMALE
    sex = _declared(rng, n, SEX_DECLARED, np.where(female, "female", "male"))
    disability = _declared(rng, n, DISABILITY_DECLARED, None)
    career_changer = _declared(rng, n, CAREER_CHANGER_DECLARED, None)
    willing = rng.random(n) < WILLING_TO_RELOCATE

    # One main specialism (data is the largest stream), sometimes a second or third.
    main = _categorical(rng, np.array([0.40, 0.30, 0.30]), n)
    extra = rng.random((n, 3)) < 0.25
    extra[np.arange(n), main] = True
    spec = (extra * np.array([1, 2, 4])).sum(axis=1)

    score: np.ndarray = rng.normal(SCORE_MEAN, SCORE_SD, n)
    score -= SCORE_GAP_MINORITY * minority + SCORE_GAP_DISABLED * (disability == "yes")
    score = np.round(np.clip(score, 40.0, 100.0), 1)

    # Linked pairs (couples, friends applying together): a handful, living in the same region.
    n_links = max(n // 200, 1) if n >= 10 else 0
    linked = rng.choice(n, size=2 * n_links, replace=False).reshape(-1, 2) if n_links else np.zeros((0, 2), int)
    region[linked[:, 1]] = region[linked[:, 0]]
    partner = np.full(n, -1)
    partner[linked[:, 0]], partner[linked[:, 1]] = linked[:, 1], linked[:, 0]

    name_u = rng.random((n, 4))
    width = max(5, len(str(n)))
    ids = [f"C{i + 1:0{width}d}" for i in range(n)]
    rows: list[tuple[str, ...]] = []
    seen_emails: dict[str, int] = {}
    for i in range(n):
        given, family = candidate_name(ETHNIC_CODES[true_code[i]], bool(female[i]), name_u[i])
        local = email_local_part(given, family)
        k = seen_emails.get(local, 0) + 1
        seen_emails[local] = k
        email = f"{local}{k if k > 1 else ''}@example.org"
        rows.append((
            ids[i], given, family, email, f"{score[i]:.1f}", _specialism_text(int(spec[i])),
            REGIONS[region[i]], "yes" if willing[i] else "no", sex[i], ethnic[i], disability[i],
            career_changer[i], ids[partner[i]] if partner[i] >= 0 else "",
        ))  # fmt: skip
    return {"ids": ids, "rows": rows, "region": region, "spec": spec, "willing": willing, "score": score}


# --- hosts -----------------------------------------------------------------------


def _capacities(rng: np.random.Generator, n_hosts: int, total: int) -> np.ndarray:
    """Places per host, 1 to 6, summing to ``total`` (small hosts most common when places are scarce)."""
    sizes = np.arange(1, 7)
    mean = total / n_hosts
    lo, hi = -12.0, 12.0  # log of the ratio of a truncated geometric on 1..6, fitted to the mean
    for _ in range(60):
        mid = (lo + hi) / 2
        p = np.exp(mid * (sizes - 1))
        lo, hi = (mid, hi) if (p @ sizes) / p.sum() < mean else (lo, mid)
    cap = sizes[_categorical(rng, np.exp(lo * (sizes - 1)), n_hosts)]
    while (diff := total - int(cap.sum())) != 0:
        room = np.flatnonzero(cap < 6) if diff > 0 else np.flatnonzero(cap > 1)
        pick = rng.choice(room, size=min(abs(diff), len(room)), replace=False)
        cap[pick] += 1 if diff > 0 else -1
    return cap


def _draw_hosts(rng: np.random.Generator, n_hosts: int, n_candidates: int) -> dict:
    region = _categorical(rng, REGION_SHARES, n_hosts)
    if n_hosts >= len(REGIONS):  # every region has hosts
        region[rng.choice(n_hosts, size=len(REGIONS), replace=False)] = np.arange(len(REGIONS))
    org = _categorical(rng, ORG_TYPE_SHARES, n_hosts)
    total = int(np.clip(round(PLACES_PER_CANDIDATE * n_candidates), n_hosts, 6 * n_hosts))
    capacity = _capacities(rng, n_hosts, total)
    spec = _specialism_masks(rng, HOST_SPECIALISM_P[org])
    # A few hosts set a minimum assessment score; a very few need places filled (lower quotas).
    min_score = np.where(rng.random(n_hosts) < 0.08, rng.choice([50, 55, 60, 65, 70], n_hosts), 0)
    needs = (rng.random(n_hosts) < 0.02) & (capacity >= 2)
    min_placements = np.where(needs, 1 + (rng.random(n_hosts) * (capacity // 2)).astype(int), 0)
    ids = host_codes(rng, [ORG_TYPES[o] for o in org])
    names = host_names(rng, [ORG_TYPES[o] for o in org], [REGIONS[r] for r in region])
    rows = [
        (ids[h], names[h], ORG_TYPES[org[h]], REGIONS[region[h]], str(capacity[h]), _specialism_text(int(spec[h])),
         str(min_score[h]) if min_score[h] else "", str(min_placements[h]) if min_placements[h] else "")
        for h in range(n_hosts)
    ]  # fmt: skip
    return {"ids": ids, "rows": rows, "region": region, "spec": spec, "capacity": capacity}


# --- preferences -----------------------------------------------------------------


def _draw_preferences(rng: np.random.Generator, cand: dict, host: dict, k: int) -> tuple[np.ndarray, ...]:
    """Each candidate ranks ``k`` distinct hosts: (candidate, host, rank) arrays sorted by candidate and rank.

    A candidate's choices are a successive weighted sample without
    replacement: host weight = popularity (Zipf over a random popularity
    order, bigger programmes more visible) x specialism fit, mixed so that a
    set share of the choices falls in the home region.
    """
    n, n_hosts = len(cand["ids"]), len(host["ids"])
    popularity = (1.0 + rng.permutation(n_hosts)) ** -ZIPF_EXPONENT * np.sqrt(host["capacity"])
    chosen = np.empty((n, k), dtype=np.int64)
    home_share = np.where(cand["willing"], HOME_SHARE_MOBILE, HOME_SHARE_STAY)
    groups = cand["region"] * 16 + cand["spec"] * 2 + cand["willing"]
    for g in np.unique(groups):
        members = np.flatnonzero(groups == g)
        region, spec = g // 16, (g % 16) // 2
        fit = np.where(host["spec"] & spec, 1.0, OFF_SPECIALISM_WEIGHT)
        at_home = host["region"] == region
        w_home, w_away = popularity * fit * at_home, popularity * fit * ~at_home
        share = home_share[members[0]]
        if w_home.sum() == 0 or w_away.sum() == 0:
            q = w_home + w_away
        else:
            q = share * w_home / w_home.sum() + (1 - share) * w_away / w_away.sum()
        chosen[members] = _successive_sample(rng, q / q.sum(), len(members), k)
    ranks = np.tile(np.arange(1, k + 1), n)
    return np.repeat(np.arange(n), k), chosen.ravel(), ranks


def _successive_sample(rng: np.random.Generator, q: np.ndarray, rows: int, k: int) -> np.ndarray:
    """``rows`` ordered samples of ``k`` distinct indices, each drawn with probability ~ q among those left.

    Draw with replacement and keep first occurrences (which is exactly
    successive sampling); rows still short after that are completed with the
    Gumbel top-k trick on the remaining weights.
    """
    m = 4 * k
    draws = np.minimum(np.searchsorted(np.cumsum(q), rng.random((rows, m)), side="right"), len(q) - 1)
    order = np.argsort(draws, axis=1, kind="stable")
    sorted_draws = np.take_along_axis(draws, order, axis=1)
    repeat = np.zeros_like(draws, dtype=bool)
    np.put_along_axis(repeat, order[:, 1:], sorted_draws[:, 1:] == sorted_draws[:, :-1], axis=1)
    keep = ~repeat & (np.cumsum(~repeat, axis=1) <= k)
    out = np.full((rows, k), -1, dtype=np.int64)
    counts = keep.sum(axis=1)
    full = counts == k
    out[full] = draws[full][keep[full]].reshape(-1, k)
    logq = np.log(np.where(q > 0, q, 1e-300))
    for r in np.flatnonzero(~full):
        have = draws[r][keep[r]]
        key = logq + rng.gumbel(size=len(q))
        key[have] = -np.inf
        rest = np.argsort(-key, kind="stable")[: k - len(have)]
        out[r] = np.concatenate([have, rest])
    return out


# --- host rankings and barred pairs ------------------------------------------------


def _draw_host_rankings(
    rng: np.random.Generator,
    pref_cand: np.ndarray,
    pref_host: np.ndarray,
    score: np.ndarray,
    n_hosts: int,
    share: float,
    cids: list[str],
    hids: list[str],
) -> list[tuple[str, ...]]:
    """Some hosts interview their applicants and rank them; they leave about one in ten off their list.

    The order follows the assessment score with interview noise; rounding
    the noisy mark to whole points gives the ties hosts' lists have.
    """
    applied = np.unique(pref_host)
    n_rankers = min(len(applied), max(1, round(share * n_hosts)))
    rankers = np.sort(rng.choice(applied, size=n_rankers, replace=False))
    sel = np.flatnonzero(np.isin(pref_host, rankers))
    mark = np.round(score[pref_cand[sel]] + rng.normal(0.0, 8.0, len(sel)))
    listed = rng.random(len(sel)) >= 0.10
    sel, mark = sel[listed], mark[listed]
    hosts, cands = pref_host[sel], pref_cand[sel]
    order = np.lexsort((cands, -mark, hosts))
    hosts, cands, mark = hosts[order], cands[order], mark[order]
    rows: list[tuple[str, ...]] = []
    rank = position = 0
    for i in range(len(order)):
        if i == 0 or hosts[i] != hosts[i - 1]:
            position = 0
        position += 1
        if position == 1 or mark[i] != mark[i - 1]:
            rank = position  # competition ranking: equal marks share a rank
        rows.append((hids[hosts[i]], cids[cands[i]], str(rank)))
    return rows


def _draw_forbid_pairs(
    rng: np.random.Generator, pref_cand: np.ndarray, pref_host: np.ndarray, n: int, cids: list[str], hids: list[str]
) -> list[tuple[str, ...]]:
    """A few candidates barred from a host they ranked (their current employer, a relative in the team)."""
    n_pairs = max(1, round(0.003 * n))
    picks = np.sort(rng.choice(len(pref_cand), size=min(n_pairs, len(pref_cand)), replace=False))
    picks = picks[np.unique(pref_cand[picks], return_index=True)[1]]  # one per candidate
    reasons = rng.choice(len(FORBID_REASONS), size=len(picks), p=[0.6, 0.3, 0.1])
    return [(cids[pref_cand[i]], hids[pref_host[i]], "forbid", FORBID_REASONS[r]) for i, r in zip(picks, reasons)]
