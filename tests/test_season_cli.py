"""A whole season through the CLI, on files the test writes (not the sample).

import, solve, approve, answers, a changed answer, a released offer, a withdrawn candidate, a revoked
approval, a second and a third round. After every step `round show --json`, `candidate show --json` and
`status --json` agree with one another and with the database, and nobody who accepted has moved.
"""

from __future__ import annotations

import json
from collections import Counter

from click.testing import CliRunner
from sqlalchemy import select

from placement.db.migrate import upgrade
from placement.db.models import Candidate, Host, Placement, Round
from placement.db.session import make_engine, transaction

HOSTS = [
    ("H1", "North Trust", "North West", 3),
    ("H2", "South Trust", "London", 2),
    ("H3", "East ICB", "East of England", 2),
    ("H4", "West CSU", "South West", 2),
    ("H5", "Midlands Trust", "Midlands", 1),
]
CANDIDATES = [f"K{i:02d}" for i in range(1, 15)]


def write_scheme(folder):
    folder.mkdir()
    rows = [
        "candidate_id,given_name,family_name,email,assessment_score,specialisms,home_region,willing_to_relocate,"
        "sex,ethnic_category,disability,career_changer,linked_with"
    ]
    for i, cid in enumerate(CANDIDATES):
        rows.append(
            f"{cid},Given{i},[bold]Family{i},{cid.lower()}@example.org,{90 - i},data;digital,London,yes,"
            f"{'female' if i % 2 else 'male'},A,no,no,"
        )
    (folder / "candidates.csv").write_text("\n".join(rows) + "\n")
    (folder / "hosts.csv").write_text(
        "host_id,name,org_type,region,capacity,specialisms,min_score,min_placements\n"
        + "".join(f"{h},{name},acute,{region},{cap},data;digital,,\n" for h, name, region, cap in HOSTS)
    )
    prefs = ["candidate_id,host_id,rank"]
    order = [h for h, *_ in HOSTS]
    for i, cid in enumerate(CANDIDATES):
        mine = order[i % 3 :] + order[: i % 3]  # everyone ranks all five, starting at H1, H2 or H3
        prefs += [f"{cid},{h},{r}" for r, h in enumerate(mine, start=1)]
    (folder / "preferences.csv").write_text("\n".join(prefs) + "\n")
    (folder / "targets.csv").write_text(
        "name,scope,attribute,value,min_share,max_share,strength,weight\nwomen-cohort,cohort,sex,female,0.4,,soft,5\n"
    )
    (folder / "pairs.csv").write_text("candidate_id,host_id,rule,reason\nK14,H5,require,agreed with the host\n")


class Season:
    def __init__(self, url):
        self.url = url
        self.engine = make_engine(self.url)
        upgrade(self.engine)
        self.accepted: dict[str, tuple[str, int]] = {}  # who accepted where in which round: they stay there

    def run(self, *args, code=0):
        res = CliRunner().invoke(
            __import__("placement.cli", fromlist=["cli"]).cli, ["--db", self.url, *args], catch_exceptions=False
        )
        assert res.exit_code == code, f"{args}: {res.output}"
        return res.output

    def json(self, *args):
        return json.loads(self.run(*args, "--json"))

    # ------------------------------------------------------------------ the database's truth
    def db(self):
        with transaction(self.engine) as s:
            rounds = {r.number: r.state for r in s.scalars(select(Round))}
            rows = s.execute(
                select(Round.number, Candidate.candidate_id, Host.host_id, Placement.offer_status)
                .join(Placement, Placement.round_id == Round.id)
                .join(Candidate, Candidate.id == Placement.candidate_pk)
                .join(Host, Host.id == Placement.host_pk)
            ).all()
            withdrawn = set(s.scalars(select(Candidate.candidate_id).where(Candidate.withdrawn.is_(True))))
        placed: dict[int, dict[str, tuple[str, str]]] = {n: {} for n in rounds}
        for n, cid, hid, st in rows:
            placed[n][cid] = (hid, st)
        return rounds, placed, withdrawn

    def check(self):
        """round show, candidate show and status agree with one another and with the database."""
        rounds, placed, withdrawn = self.db()
        listed = self.json("round", "list")
        assert {r["round"]: r["state"] for r in listed} == rounds
        approved = [n for n, st in rounds.items() if st == "approved"]
        latest = max(approved) if approved else None
        for n in rounds:
            view = self.json("round", "show", str(n))
            assert view["state"] == rounds[n]
            assert {p["candidate_id"]: (p["host_id"], p["offer"]) for p in view["placements"]} == placed[n]
            assert all(p["candidate_name"] and p["host_name"] for p in view["placements"])
            assert (
                sum(h["placed"] for h in view["hosts"]) == len(placed[n]) == view["placed"] == view["totals"]["placed"]
            )
            assert view["totals"]["unplaced"] == len(view["unplaced"]) == view["unplaced_count"]
            for h in view["hosts"]:
                assert h["placed"] == sum(1 for hid, _ in placed[n].values() if hid == h["host_id"]) <= h["capacity"]
            assert {u["candidate_id"] for u in view["unplaced"]}.isdisjoint(placed[n])
        status = self.json("status")
        assert status["latest_approved"] == latest
        assert status["rounds"] == {
            st: list(rounds.values()).count(st) for st in ("proposal", "approved", "superseded")
        }
        if latest is not None:
            counts = Counter(st for _, st in placed[latest].values())
            assert status["offers"] == {st: counts.get(st, 0) for st in ("offered", "accepted", "declined", "released")}
            held = counts["offered"] + counts["accepted"]
            assert status["places"]["held"] == held
            assert status["places"]["left"] == sum(c for *_, c in HOSTS) - held
        assert status["candidates"]["withdrawn"] == len(withdrawn)
        for cid in CANDIDATES:
            card = self.json("candidate", "show", cid)
            assert card["state"] == ("withdrawn" if cid in withdrawn else "active")
            assert {o["round"]: (o["host_id"], o["offer"]) for o in card["offers"]} == {
                n: placed[n][cid] for n in placed if cid in placed[n]
            }
            assert "sex" not in json.dumps(card)  # special category data only with --include-sensitive
            if latest is not None and cid in placed[latest]:
                assert status["latest_approved"] in {o["round"] for o in card["offers"]}
        # Nobody who accepted has moved: in every later round they are where they accepted.
        for n in sorted(rounds):
            for cid, (hid, since) in self.accepted.items():
                if n >= since:
                    assert placed[n].get(cid) == (hid, "accepted"), (
                        f"{cid} accepted {hid} but round {n} has {placed[n].get(cid)}"
                    )

    def latest_offers(self, number):
        return {p["candidate_id"]: p for p in self.json("round", "show", str(number))["placements"]}


def test_a_whole_season(any_db_url, tmp_path):
    write_scheme(tmp_path / "scheme")
    season = Season(any_db_url)
    season.run("import", "dir", str(tmp_path / "scheme"))
    season.check()

    # Round 1: ten places for fourteen candidates.
    out = season.run("solve")
    assert "Round 1 proposal" in out
    season.check()
    shown = season.run("round", "show", "1")
    assert "[bold]Family" in shown  # a name is shown as typed, never read as markup
    assert season.run("round", "approve", "1", "--by", "Sam Lead").startswith("Round 1 approved by Sam Lead: 10 offers")
    season.check()

    r1 = season.latest_offers(1)
    assert r1["K14"]["host_id"] == "H5"  # the required pair
    ids = sorted(r1)
    accept, decline, change, release, withdraw = ids[0:3], ids[3], ids[4], ids[5], ids[6]
    answers = tmp_path / "answers.csv"
    answers.write_text(
        "candidate_id,response\n"
        + "".join(f"{c},accept\n" for c in [*accept, change, release])
        + f"{decline},decline\n"
    )
    assert "Recorded 6 answers" in season.run("offer", "import", str(answers))
    season.accepted.update({c: (r1[c]["host_id"], 1) for c in [*accept, change, release]})
    season.check()

    # A changed answer, a released offer, a withdrawn candidate (who held an offer).
    assert "is now declined (was accepted)" in season.run(
        "offer", "change", change, "decline", "--reason", "changed their mind"
    )
    season.accepted.pop(change)
    assert "released" in season.run("offer", "release", release, "--reason", "failed pre-employment checks")
    season.accepted.pop(release)
    assert "withdrawn" in season.run("candidate", "withdraw", withdraw, "--reason", "left the scheme")
    season.run("offer", "change", release, "accept", "--reason", "try", code=1)  # a released offer has no answer
    season.check()
    card = season.json("candidate", "show", change)
    assert [(e["action"], e["before"], e["after"]) for e in card["events"]] == [
        ("approve", "proposed", "offered"),
        ("accept", "offered", "accepted"),
        ("change", "accepted", "declined"),
    ]
    assert card["events"][-1]["reason"] == "changed their mind"

    # Round 2: approved, then the approval revoked before any answer, then approved again.
    season.run("solve")
    season.check()
    r2 = season.latest_offers(2)
    assert all(r2[c]["host_id"] == h and r2[c]["offer"] == "accepted" for c, (h, _) in season.accepted.items())
    assert withdraw not in r2 and r2.get(release, {}).get("host_id") != r1[release]["host_id"]
    assert r2.get(change, {}).get("host_id") != r1[change]["host_id"]
    season.run("round", "approve", "2", "--by", "Sam Lead")
    season.check()
    assert "is a proposal" in season.run("round", "revoke", "2", "--reason", "approved the wrong round")
    season.check()
    assert season.json("round", "show", "2")["state"] == "proposal"
    season.run("round", "approve", "2", "--by", "Sam Lead")
    season.check()
    new = [c for c, p in season.latest_offers(2).items() if p["offer"] == "offered"]
    assert new
    for c in new:
        season.run("offer", "accept", c)
        season.accepted[c] = (season.latest_offers(2)[c]["host_id"], 2)
    season.run("round", "revoke", "2", "--reason", "too late", code=1)  # its offers have answers now
    season.check()

    # Round 3.
    season.run("solve")
    season.check()
    season.run("round", "approve", "3", "--by", "Sam Lead")
    season.check()
    diff = season.json("round", "diff", "1", "3")
    moved = {m["candidate_id"]: m for m in diff["moved"]}
    assert "declined" in moved[decline]["why"] or "left" in moved[decline]["why"]
    assert {c for c, (_, since) in season.accepted.items() if since == 1}.isdisjoint(moved)
    assert json.loads(season.run("round", "diff", "2", "3", "--json"))["from_round"] == 2
    status = season.json("status")
    assert status["rounds"] == {"proposal": 0, "approved": 3, "superseded": 0}
