"""The encoder: eligibility with reasons, ranks, host orders, targets, links, history, storage."""

from __future__ import annotations

import numpy as np

from placement.scheme import CandidateRec, History, HostRec, PairRuleRec, Scheme, TargetRec
from placement.solver import encode as E


def cand(cid, score=70.0, spec=("data",), region="London", relocate=True, linked=None, **attrs):
    base = {
        "sex": "not_known",
        "ethnic_group": "not_known",
        "minority_ethnic": "not_known",
        "disability": "not_known",
        "career_changer": "not_known",
        "home_region": region,
    }
    base.update(attrs)
    return CandidateRec(cid, score, frozenset(spec), region, relocate, linked, base)


def host(hid, region="London", cap=2, spec=("data", "digital"), min_score=0.0, org="acute", min_pl=0):
    return HostRec(hid, f"Host {hid}", org, region, cap, frozenset(spec), min_score, min_pl)


def reasons(enc):
    return {(d.candidate_id, d.host_id): d.reason for d in enc.dropped}


def test_each_eligibility_rule_drops_with_its_reason():
    scheme = Scheme(
        candidates=[cand("A", score=50, region="London", relocate=False), cand("B", spec=("technology",))],
        hosts=[
            host("H1", min_score=60),
            host("H2", region="North West"),
            host("H3"),
            host("H4", cap=0),
            host("H5", spec=("technology",)),
        ],
        preferences=[
            ("A", "H1", 1),
            ("A", "H2", 2),
            ("A", "H3", 3),
            ("A", "H4", 4),
            ("A", "H5", 5),
            ("B", "H3", 1),
            ("B", "H5", 2),
        ],
        host_rankings={"H5": {"A": 1}},  # H5 listed A only, so B is not on its list
    )
    enc = E.encode(scheme)
    r = reasons(enc)
    assert "below the host's minimum of 60" in r[("A", "H1")]
    assert "not willing to relocate" in r[("A", "H2")]
    assert "no places" in r[("A", "H4")]
    assert "no specialism in common" in r[("A", "H5")]
    assert "no specialism in common" in r[("B", "H3")]
    assert "did not list this candidate" in r[("B", "H5")]
    # Only A-H3 survives, at A's 3rd position.
    pairs = [
        (enc.candidate_ids[c], enc.host_ids[h], int(rk))
        for c, h, rk in zip(enc.problem.pair_cand, enc.problem.pair_host, enc.problem.pair_rank)
    ]
    assert pairs == [("A", "H3", 3)]
    assert enc.eligible_candidates() == ["A"]


def test_rank_is_position_in_the_candidates_list_gaps_removed():
    scheme = Scheme([cand("A")], [host("H1"), host("H2")], [("A", "H2", 10), ("A", "H1", 3)])
    enc = E.encode(scheme)
    got = {
        enc.host_ids[h]: (int(r), int(g))
        for h, r, g in zip(enc.problem.pair_host, enc.problem.pair_rank, enc.pair_given_rank)
    }
    assert got == {"H1": (1, 3), "H2": (2, 10)}


def test_host_order_from_ranking_else_scores_with_ties():
    scheme = Scheme(
        [cand("A", score=80), cand("B", score=90), cand("C", score=80)],
        [host("H1", cap=3), host("H2", cap=3)],
        [(c, h, 1 if h == "H1" else 2) for c in "ABC" for h in ("H1", "H2")],
        host_rankings={"H2": {"A": 1, "B": 2, "C": 2}},
    )
    enc = E.encode(scheme)
    hr = {
        (enc.candidate_ids[c], enc.host_ids[h]): int(r)
        for c, h, r in zip(enc.problem.pair_cand, enc.problem.pair_host, enc.problem.pair_host_rank)
    }
    assert hr[("B", "H1")] < hr[("A", "H1")] == hr[("C", "H1")]  # by score, equal scores tie
    assert hr[("A", "H2")] == 1 and hr[("B", "H2")] == hr[("C", "H2")] == 2  # the host's own list


def test_forbid_require_fixed_and_declines():
    scheme = Scheme(
        [cand("A"), cand("B"), cand("C")],
        [host("H1"), host("H2")],
        [("A", "H1", 1), ("B", "H1", 1), ("C", "H1", 1), ("C", "H2", 2)],
        pair_rules=[PairRuleRec("A", "H1", "forbid", "current employer"), PairRuleRec("B", "H2", "require")],
    )
    hist = History(fixed={"C": "H2"}, declined={"B": {"H1"}}, declined_round={("B", "H1"): 1})
    enc = E.encode(scheme, hist)
    r = reasons(enc)
    assert r[("A", "H1")] == "the pair is forbidden (current employer)"
    assert r[("B", "H1")] == "the candidate declined this host's offer in round 1"
    idx = enc.pair_index()
    assert [int(i) for i in enc.problem.required] == [idx[("B", "H2")]]  # required though B never ranked H2
    assert [int(i) for i in enc.problem.fixed] == [idx[("C", "H2")]]
    assert any("did not rank H2" in n for n in enc.notes)


def test_withdrawn_candidates_and_broken_links():
    scheme = Scheme(
        [cand("A", linked="B"), cand("B", linked="A"), cand("C", linked="D"), cand("D", linked="C")],
        [host("H1")],
        [(c, "H1", 1) for c in "ABCD"],
    )
    enc = E.encode(scheme, History(withdrawn={"D"}))
    assert enc.candidate_ids == ["A", "B", "C"]
    assert enc.problem.links.tolist() == [[0, 1]]
    assert any("C is linked with D" in n for n in enc.notes)


def test_targets_expand_per_scope_value():
    scheme = Scheme(
        [cand("A", sex="female"), cand("B", sex="male")],
        [
            host("H1", region="London"),
            host("H2", region="North West", org="ics"),
            host("H3", region="London", org="ics"),
        ],
        [("A", "H1", 1), ("B", "H2", 1)],
        targets=[
            TargetRec("women", "region=*", "sex", "female", 0.4, None, "soft", 5.0),
            TargetRec("ics", "org_type=ics", "sex", "female", None, 0.9, "hard"),
            TargetRec("one", "host=H3", "sex", "female", 0.5, None, "hard"),
            TargetRec("all", "cohort", "sex", "female", 0.2, None, "soft", 1.0),
        ],
    )
    enc = E.encode(scheme)
    got = [(t.name, t.scope, sorted(enc.host_ids[i] for i in t.scope_hosts), t.hard) for t in enc.problem.targets]
    assert got == [
        ("women", "region=London", ["H1", "H3"], False),
        ("women", "region=North West", ["H2"], False),
        ("ics", "org_type=ics", ["H2", "H3"], True),
        ("one", "host=H3", ["H3"], True),
        ("all", "cohort", ["H1", "H2", "H3"], False),
    ]
    assert enc.problem.targets[0].member.tolist() == [True, False]


def test_storage_roundtrip_is_exact_and_hash_stable():
    scheme = Scheme(
        [cand("A", sex="female", linked="B"), cand("B", linked="A")],
        [host("H1"), host("H2", region="Midlands")],
        [("A", "H1", 1), ("A", "H2", 2), ("B", "H2", 1)],
        targets=[TargetRec("women", "region=*", "sex", "female", 0.4, 0.9, "soft", 5.0)],
    )
    enc = E.encode(scheme)
    blob = E.dumps(enc)
    back = E.loads(blob)
    for name in ("pair_cand", "pair_host", "pair_rank", "pair_host_rank", "capacity", "links", "host_region"):
        assert np.array_equal(getattr(back.problem, name), getattr(enc.problem, name)), name
    assert [(t.scope, t.member.tolist(), t.scope_hosts.tolist()) for t in back.problem.targets] == [
        (t.scope, t.member.tolist(), t.scope_hosts.tolist()) for t in enc.problem.targets
    ]
    assert E.input_hash(blob) == E.input_hash(E.dumps(E.encode(scheme)))
    # Members are stored as indices: no candidate's attribute values are in the blob.
    import json
    import zlib

    doc = json.loads(zlib.decompress(blob))
    assert doc["targets"][0]["members"] == [0]
    assert "male" not in json.dumps(doc["candidate_ids"]) and "sex" not in doc
