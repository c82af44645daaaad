"""The synthetic scheme generator, its CLI command and the sample scheme in fixtures/sample."""

from __future__ import annotations

import csv
from collections import Counter, defaultdict
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from placement.cli import cli
from placement.domain import (
    CAREER_CHANGER_VALUES,
    DISABILITY_VALUES,
    ETHNIC_GROUP_OF_CODE,
    ORG_TYPES,
    REGIONS,
    SEX_VALUES,
    SPECIALISMS,
)
from placement.errors import ConfigError
from placement.generate import FILE_COLUMNS, REGION_SHARES, build_scheme, generate_scheme

REPO = Path(__file__).resolve().parents[1]
SAMPLE = REPO / "fixtures" / "sample"

# The three families as the brief and fixtures/README.md state them, written out
# here (not taken from the generator) so that a change to them is caught.
EXPECTED_TARGETS = [
    {"name": "women-per-region", "scope": "region=*", "attribute": "sex", "value": "female",
     "min_share": "0.40", "max_share": "", "strength": "soft", "weight": "5"},
    {"name": "minority-ethnic-cohort", "scope": "cohort", "attribute": "minority_ethnic", "value": "yes",
     "min_share": "0.25", "max_share": "", "strength": "soft", "weight": "5"},
    {"name": "career-changers-per-org-type", "scope": "org_type=*", "attribute": "career_changer",
     "value": "yes", "min_share": "0.15", "max_share": "", "strength": "hard", "weight": ""},
]  # fmt: skip


def read(path: Path) -> tuple[list[str], list[dict[str, str]]]:
    with path.open(encoding="utf-8", newline="") as fh:
        reader = csv.DictReader(fh)
        return list(reader.fieldnames or []), list(reader)


def load_dir(d: Path) -> dict[str, list[dict[str, str]]]:
    tables = {}
    for name, columns in FILE_COLUMNS.items():
        if (d / name).exists():
            header, rows = read(d / name)
            assert header == list(columns), f"{name} header"
            tables[name] = rows
    return tables


@pytest.fixture(scope="module")
def scheme_1000(tmp_path_factory) -> tuple[Path, dict[str, int]]:
    out = tmp_path_factory.mktemp("gen1000")
    return out, generate_scheme(out, candidates=1000, seed=7)


@pytest.fixture(scope="module")
def scheme_8000() -> dict[str, list[tuple[str, ...]]]:
    return build_scheme(candidates=8000, seed=3).tables


# --- determinism --------------------------------------------------------------------


def test_same_seed_writes_identical_bytes_and_another_seed_does_not(tmp_path: Path) -> None:
    a = generate_scheme(tmp_path / "a", candidates=400, seed=11)
    b = generate_scheme(tmp_path / "b", candidates=400, seed=11)
    c = generate_scheme(tmp_path / "c", candidates=400, seed=12)
    assert a == b
    assert set(a) == set(c) == set(FILE_COLUMNS)
    for name in a:
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes(), name
    differing = [n for n in a if (tmp_path / "a" / n).read_bytes() != (tmp_path / "c" / n).read_bytes()]
    # targets.csv is the same three families whatever the seed; everything drawn differs.
    assert set(differing) == set(FILE_COLUMNS) - {"targets.csv"}


# --- canonical format ------------------------------------------------------------------


def test_files_parse_with_canonical_columns_and_values(scheme_1000) -> None:
    out, counts = scheme_1000
    t = load_dir(out)
    assert {name: len(rows) for name, rows in t.items()} == counts
    assert counts["candidates.csv"] == 1000 and counts["hosts.csv"] == 400

    emails = [c["email"].lower() for c in t["candidates.csv"]]
    assert len(set(emails)) == len(emails)
    for c in t["candidates.csv"]:
        assert c["given_name"] and c["family_name"]
        assert c["email"].endswith("@example.org") and c["email"].count("@") == 1 and " " not in c["email"]
        assert 40.0 <= float(c["assessment_score"]) <= 100.0
        specs = c["specialisms"].split(";")
        assert specs and set(specs) <= set(SPECIALISMS) and specs == sorted(specs, key=SPECIALISMS.index)
        assert c["home_region"] in REGIONS
        assert c["willing_to_relocate"] in ("yes", "no")
        assert c["sex"] in SEX_VALUES + ("",)
        assert c["ethnic_category"] in tuple(ETHNIC_GROUP_OF_CODE) + ("",)
        assert c["disability"] in DISABILITY_VALUES + ("",)
        assert c["career_changer"] in CAREER_CHANGER_VALUES[:2] + ("",)
    for h in t["hosts.csv"]:
        assert h["org_type"] in ORG_TYPES and h["region"] in REGIONS and h["name"]
        assert 1 <= int(h["capacity"]) <= 6
        assert set(h["specialisms"].split(";")) <= set(SPECIALISMS)
        assert h["min_score"] == "" or 0 <= float(h["min_score"]) <= 100
        assert h["min_placements"] == "" or 1 <= int(h["min_placements"]) <= int(h["capacity"])
    assert all(p["rule"] == "forbid" and p["reason"] for p in t["pairs.csv"])


def test_ids_unique_even_ignoring_case_and_blanks(scheme_1000) -> None:
    t = load_dir(scheme_1000[0])
    for name, key in (("candidates.csv", "candidate_id"), ("hosts.csv", "host_id")):
        ids = [r[key] for r in t[name]]
        folded = {i.lower().replace(" ", "") for i in ids}
        assert len(folded) == len(ids) and all(i == i.strip() and i for i in ids)
    names = [h["name"] for h in t["hosts.csv"]]
    assert len(set(names)) == len(names)


def test_every_candidate_ranks_the_requested_number_of_distinct_hosts(scheme_1000) -> None:
    t = load_dir(scheme_1000[0])
    cands = {c["candidate_id"] for c in t["candidates.csv"]}
    hosts = {h["host_id"] for h in t["hosts.csv"]}
    ranks, chosen = defaultdict(list), defaultdict(list)
    for p in t["preferences.csv"]:
        assert p["candidate_id"] in cands and p["host_id"] in hosts
        ranks[p["candidate_id"]].append(int(p["rank"]))
        chosen[p["candidate_id"]].append(p["host_id"])
    assert set(ranks) == cands
    assert all(sorted(r) == list(range(1, 11)) for r in ranks.values())
    assert all(len(set(h)) == 10 for h in chosen.values())


def test_fewer_hosts_than_preferences_means_every_host_ranked(tmp_path: Path) -> None:
    generate_scheme(tmp_path, candidates=50, seed=1, hosts=4, preferences=10)
    t = load_dir(tmp_path)
    by_cand = defaultdict(set)
    for p in t["preferences.csv"]:
        by_cand[p["candidate_id"]].add((p["host_id"], p["rank"]))
    hosts = {h["host_id"] for h in t["hosts.csv"]}
    assert len(by_cand) == 50
    for pairs in by_cand.values():
        assert {h for h, _ in pairs} == hosts and {r for _, r in pairs} == {"1", "2", "3", "4"}
    # Capacity cannot reach 0.85 x 50 with 4 hosts of at most 6 places: every host is full size.
    assert [h["capacity"] for h in t["hosts.csv"]] == ["6"] * 4


def test_links_are_mutual_and_in_one_region(scheme_1000) -> None:
    cands = {c["candidate_id"]: c for c in load_dir(scheme_1000[0])["candidates.csv"]}
    linked = {cid: c["linked_with"] for cid, c in cands.items() if c["linked_with"]}
    assert len(linked) == 2 * 5  # 1000 candidates: five pairs
    for a, b in linked.items():
        assert b != a and linked[b] == a
        assert cands[a]["home_region"] == cands[b]["home_region"]


def test_host_rankings_cover_a_share_of_hosts_and_only_their_applicants(scheme_1000) -> None:
    t = load_dir(scheme_1000[0])
    applied = {(p["host_id"], p["candidate_id"]) for p in t["preferences.csv"]}
    by_host = defaultdict(list)
    for r in t["host_rankings.csv"]:
        assert (r["host_id"], r["candidate_id"]) in applied
        by_host[r["host_id"]].append(int(r["rank"]))
    assert len(by_host) == 40  # 10% of 400 hosts
    for ranks in by_host.values():
        assert ranks[0] == 1 and ranks == sorted(ranks)
        # Competition ranking: the rank is one more than the number ranked strictly above.
        assert all(r == 1 + sum(q < r for q in ranks) for r in ranks)
    applicants = Counter(h for h, _ in applied)
    listed = sum(len(v) for v in by_host.values())
    assert 0.8 < listed / sum(applicants[h] for h in by_host) < 0.97  # about one in ten left off


def test_forbidden_pairs_bar_a_host_the_candidate_ranked(scheme_1000) -> None:
    t = load_dir(scheme_1000[0])
    applied = {(p["candidate_id"], p["host_id"]) for p in t["preferences.csv"]}
    pairs = t["pairs.csv"]
    assert len(pairs) == 3
    assert all((p["candidate_id"], p["host_id"]) in applied for p in pairs)


def test_target_families_are_the_three_of_the_sample(scheme_1000) -> None:
    assert load_dir(scheme_1000[0])["targets.csv"] == EXPECTED_TARGETS
    assert read(SAMPLE / "targets.csv")[1] == EXPECTED_TARGETS


def test_optional_files_left_out_and_stale_ones_removed(tmp_path: Path) -> None:
    generate_scheme(tmp_path, candidates=100, seed=1)
    counts = generate_scheme(tmp_path, candidates=100, seed=1, targets=False, host_rankings_share=0)
    assert set(counts) == {"candidates.csv", "hosts.csv", "preferences.csv", "pairs.csv"}
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(counts)


@pytest.mark.parametrize(
    "kwargs, words",
    [
        ({"candidates": 0}, "at least 1 candidate"),
        ({"candidates": 10, "hosts": 0}, "at least 1 host"),
        ({"candidates": 10, "preferences": 0}, "at least 1"),
        ({"candidates": 10, "host_rankings_share": 1.5}, "from 0 to 1"),
    ],
)
def test_bad_arguments_are_refused_with_the_fix(tmp_path: Path, kwargs: dict, words: str) -> None:
    with pytest.raises(ConfigError) as excinfo:
        generate_scheme(tmp_path, seed=1, **kwargs)
    assert words in str(excinfo.value)
    assert list(tmp_path.iterdir()) == []


# --- realism ---------------------------------------------------------------------------


def test_regions_follow_population_weights(scheme_8000) -> None:
    n = len(scheme_8000["candidates.csv"])
    counts = Counter(row[6] for row in scheme_8000["candidates.csv"])
    shares = np.array([counts[r] / n for r in REGIONS])
    # A binomial share of 0.16 over 8,000 has sd 0.004: 0.015 is over 3.5 sd.
    assert np.abs(shares - REGION_SHARES).max() < 0.015, dict(zip(REGIONS, shares.round(3)))
    host_counts = Counter(row[3] for row in scheme_8000["hosts.csv"])
    host_shares = np.array([host_counts[r] / len(scheme_8000["hosts.csv"]) for r in REGIONS])
    assert np.abs(host_shares - REGION_SHARES).max() < 0.025


def test_places_are_scarcer_than_candidates_and_hosts_mostly_acute(scheme_8000) -> None:
    hosts = scheme_8000["hosts.csv"]
    assert len(hosts) == 3200  # 8,000 / 2.5
    places = sum(int(h[4]) for h in hosts)
    assert 0.8 * 8000 <= places <= 0.9 * 8000
    org = Counter(h[2] for h in hosts)
    assert org.most_common(1)[0][0] == "acute" and 0.45 < org["acute"] / len(hosts) < 0.6
    assert set(org) == set(ORG_TYPES)


def test_preferences_lean_home_and_towards_popular_hosts(scheme_8000) -> None:
    cand = {c[0]: c for c in scheme_8000["candidates.csv"]}
    host_region = {h[0]: h[3] for h in scheme_8000["hosts.csv"]}
    home = defaultdict(list)
    for cid, hid, _ in scheme_8000["preferences.csv"]:
        home[cand[cid][7]].append(host_region[hid] == cand[cid][6])
    overall = np.mean(home["yes"] + home["no"])
    assert 0.6 <= overall <= 0.75
    assert np.mean(home["no"]) > 0.9  # those who will not move rarely look elsewhere
    applications = sorted(Counter(p[1] for p in scheme_8000["preferences.csv"]).values(), reverse=True)
    top_tenth = sum(applications[: len(applications) // 10]) / sum(applications)
    assert top_tenth > 0.3  # Zipf-like: a tenth of hosts draw over a third of applications


def test_declaration_rates_look_like_a_real_cohort(scheme_8000) -> None:
    rows = scheme_8000["candidates.csv"]
    n = len(rows)
    share = lambda col, value: sum(r[col] == value for r in rows) / n  # noqa: E731
    assert 0.36 < share(8, "female") < 0.44 and 0.01 < share(8, "not_stated") < 0.06 and share(8, "") > 0
    assert 0.015 < share(9, "Z") < 0.05 and share(9, "99") > 0 and share(9, "") > 0
    groups = Counter(ETHNIC_GROUP_OF_CODE[r[9] or "99"] for r in rows)
    stated = sum(groups[g] for g in ("white", "mixed", "asian", "black", "other"))
    assert 0.2 < (stated - groups["white"]) / stated < 0.35
    assert 0.10 <= share(10, "yes") <= 0.15 and share(10, "not_stated") > 0
    assert 0.22 < share(11, "yes") < 0.28 and share(11, "") > 0
    assert 0.75 < share(7, "yes") < 0.85
    assert min(float(r[4]) for r in rows) >= 40 and max(float(r[4]) for r in rows) <= 100


@pytest.mark.slow
def test_twenty_thousand_candidates(tmp_path: Path) -> None:
    counts = generate_scheme(tmp_path, candidates=20_000, seed=5)
    assert counts["preferences.csv"] == 200_000


# --- CLI --------------------------------------------------------------------------------


def test_cli_generates_reports_and_refuses_to_overwrite_without_force(tmp_path: Path) -> None:
    out = tmp_path / "scheme"
    runner = CliRunner()
    result = runner.invoke(
        cli, ["fixtures", "generate", str(out), "--candidates", "200", "--seed", "3", "--hosts", "50",
              "--preferences", "6"], catch_exceptions=False)  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "candidates.csv" in result.output and "1,200" in result.output  # 200 x 6 preferences
    assert str(out.resolve()) in result.output
    assert len(read(out / "hosts.csv")[1]) == 50
    first = (out / "candidates.csv").read_bytes()

    again = runner.invoke(cli, ["fixtures", "generate", str(out), "--candidates", "20", "--seed", "4"])
    assert again.exit_code == 1 and "--force" in again.output
    assert (out / "candidates.csv").read_bytes() == first

    forced = runner.invoke(
        cli, ["fixtures", "generate", str(out), "--candidates", "20", "--seed", "4", "--force", "--no-targets",
              "--host-rankings-share", "0"], catch_exceptions=False)  # fmt: skip
    assert forced.exit_code == 0, forced.output
    assert not (out / "targets.csv").exists() and not (out / "host_rankings.csv").exists()
    assert len(read(out / "candidates.csv")[1]) == 20


# --- import and the sample scheme ----------------------------------------------------------


def import_dir(directory: Path, db: Path) -> str:
    result = CliRunner().invoke(
        cli, ["--db", f"sqlite:///{db}", "import", "dir", str(directory)], catch_exceptions=False
    )
    assert result.exit_code == 0, result.output
    return f"sqlite:///{db}"


def test_generated_scheme_imports_cleanly(tmp_path: Path) -> None:
    from sqlalchemy import func, select
    from sqlalchemy.orm import Session

    from placement.db.models import Candidate, Host, HostRanking, PairRule, Preference, Target
    from placement.db.session import make_engine

    counts = generate_scheme(tmp_path / "scheme", candidates=300, seed=9)
    url = import_dir(tmp_path / "scheme", tmp_path / "p.db")
    engine = make_engine(url)
    with Session(engine) as s:
        stored = {name: s.scalar(select(func.count()).select_from(model)) for name, model in (
            ("candidates.csv", Candidate), ("hosts.csv", Host), ("preferences.csv", Preference),
            ("host_rankings.csv", HostRanking), ("targets.csv", Target), ("pairs.csv", PairRule))}  # fmt: skip
    engine.dispose()
    assert stored == counts


def _milp(problem, *, targets: bool) -> tuple[int, float]:
    """Most placed, then least rank sum + soft penalties: an independent check of the sample's design.

    Lower quotas (min_placements) are left out: in the sample every host fills anyway.
    """
    from scipy.optimize import Bounds, LinearConstraint, milp
    from scipy.sparse import coo_matrix, vstack

    p, n_pairs = problem, problem.n_pairs
    tg = [t for t in p.targets if targets]
    soft = [t for t in tg if not t.hard]
    n_var = n_pairs + len(soft)
    rows = []

    def row(coefs: dict[int, float]) -> coo_matrix:
        keys = list(coefs)
        return coo_matrix((list(coefs.values()), ([0] * len(keys), keys)), shape=(1, n_var))

    lo, hi = [], []
    for c in range(p.n_candidates):  # placed at most once
        rows.append(row({int(i): 1.0 for i in np.flatnonzero(p.pair_cand == c)})), lo.append(0), hi.append(1)
    for h in range(p.n_hosts):  # host capacity
        (
            rows.append(row({int(i): 1.0 for i in np.flatnonzero(p.pair_host == h)})),
            lo.append(0),
            hi.append(p.capacity[h]),
        )
    for a, b in p.links:  # linked: same region or neither
        for r in np.unique(p.host_region):
            in_r = p.host_region[p.pair_host] == r
            coefs = {int(i): 1.0 for i in np.flatnonzero(in_r & (p.pair_cand == a))}
            coefs.update({int(i): -1.0 for i in np.flatnonzero(in_r & (p.pair_cand == b))})
            rows.append(row(coefs)), lo.append(0), hi.append(0)
    k = 0
    for t in tg:
        in_scope = np.isin(p.pair_host, t.scope_hosts)
        coefs = {int(i): float(t.member[p.pair_cand[i]]) - t.min_share for i in np.flatnonzero(in_scope)}
        if not t.hard:
            coefs[n_pairs + k] = 1.0  # shortfall
            k += 1
        rows.append(row(coefs)), lo.append(0), hi.append(np.inf)
    a_mat = vstack(rows).tocsr()
    integrality = np.r_[np.ones(n_pairs), np.zeros(len(soft))]
    bounds = Bounds(0, np.r_[np.ones(n_pairs), np.full(len(soft), np.inf)])
    placed_obj = np.r_[np.ones(n_pairs), np.zeros(len(soft))]
    first = milp(-placed_obj, constraints=LinearConstraint(a_mat, lo, hi), integrality=integrality, bounds=bounds)
    assert first.success
    placed = round(-first.fun)
    cost = np.r_[p.pair_rank.astype(float), [t.weight for t in soft]]
    second = milp(cost, constraints=[LinearConstraint(a_mat, lo, hi), LinearConstraint(placed_obj, placed, placed)],
                  integrality=integrality, bounds=bounds)  # fmt: skip
    assert second.success
    return placed, float(second.fun)


def test_sample_imports_and_its_targets_are_feasible_and_bind(tmp_path: Path) -> None:
    from sqlalchemy.orm import Session

    from placement.db.queries import load_scheme
    from placement.db.session import make_engine
    from placement.solver.encode import encode

    url = import_dir(SAMPLE, tmp_path / "sample.db")
    engine = make_engine(url)
    with Session(engine) as s:
        scheme = load_scheme(s)
    engine.dispose()
    enc = encode(scheme)
    dropped = {(d.candidate_id, d.host_id) for d in enc.dropped}
    # As fixtures/README.md tells: the forbidden pair and the applicants left off hosts' own lists.
    assert {("C003", "RT1"), ("C020", "RX4"), ("C045", "RY2"), ("C060", "YC1")} <= dropped
    assert len(dropped) >= 60  # scores below minimums, no common specialism, unwilling to move
    placed_free, cost_free = _milp(enc.problem, targets=False)
    placed, cost = _milp(enc.problem, targets=True)
    assert placed_free == placed == 51  # the hard career-changer target costs no placement
    # The targets have a price, they bind (fixtures/README.md quotes these values).
    assert (cost_free, cost) == (pytest.approx(79), pytest.approx(85))


def test_sample_scheme_has_the_promised_shape() -> None:
    t = load_dir(SAMPLE)
    cands, hosts = t["candidates.csv"], t["hosts.csv"]
    assert len(cands) == 60 and len(hosts) == 25
    assert {h["region"] for h in hosts} == set(REGIONS) and {h["org_type"] for h in hosts} == set(ORG_TYPES)
    assert {int(h["capacity"]) for h in hosts} <= set(range(1, 7)) and max(int(h["capacity"]) for h in hosts) == 6
    assert 2 <= sum(h["min_score"] != "" for h in hosts) <= 4
    assert 1 <= sum(h["min_placements"] not in ("", "0") for h in hosts) <= 2
    n_prefs = Counter(p["candidate_id"] for p in t["preferences.csv"])
    assert sum(5 <= k <= 8 for k in n_prefs.values()) >= 45
    assert 3 <= len({r["host_id"] for r in t["host_rankings.csv"]}) <= 4
    assert [p["rule"] for p in t["pairs.csv"]] == ["forbid"]
    linked = {c["candidate_id"]: c["linked_with"] for c in cands if c["linked_with"]}
    assert len(linked) == 2 and all(linked[b] == a for a, b in linked.items())
    codes = Counter(c["ethnic_category"] for c in cands)
    assert codes["Z"] and codes["99"] and codes[""]
    assert any(c["sex"] == "" for c in cands) and any(c["sex"] == "not_stated" for c in cands)
    assert any(c["career_changer"] == "" for c in cands) and any(c["willing_to_relocate"] == "no" for c in cands)
    emails = [c["email"].lower() for c in cands]
    assert len(set(emails)) == 60 and all(e.endswith("@example.org") for e in emails)
