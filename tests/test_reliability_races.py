"""Commands racing on one database, many times over, on SQLite and PostgreSQL.

- a purge and an import at once: the purge takes the scheme's write lock before
  it reads whom to purge, so either the import lands first (and its candidates,
  just involved, are kept) or the purge does (and the import refuses the purged
  candidates); never "5,000 updated" and then erased, never a purged row that
  still has a name;
- two imports at once on PostgreSQL take the "scheme" advisory lock, so the
  second validates against the first's rows: no ``Z-1``/``z-1`` twins, no
  duplicate ranks;
- a solve loading the scheme while an import commits reads one snapshot:
  never a preference naming a host it did not load (the old ``KeyError``).

Each race runs a bounded number of iterations (a few seconds per backend).
"""

from __future__ import annotations

import threading
from datetime import UTC, date, datetime, timedelta
from functools import partial
from pathlib import Path

import pytest
from sqlalchemy import func, select, text, update

from placement.cohorts import resolve_in
from placement.db.migrate import upgrade
from placement.db.models import Candidate, ImportBatch, Preference
from placement.db.session import make_engine, transaction, write_transaction
from placement.errors import ConcurrencyError, InputError, PlacementError
from placement.ingest import import_dir, import_file
from placement.purge import purge
from placement.rounds import RoundOptions, prepare
from tests.helpers.concurrency import CAND_HEADER, run_together

HOST_HEADER = "host_id,name,org_type,region,capacity,specialisms,min_score,min_placements\n"


def _candidates(path: Path, ids: list[str], given: str, emails: list[str] | None = None) -> Path:
    emails = emails or [f"{cid.lower()}@example.org" for cid in ids]
    path.write_text(
        CAND_HEADER
        + "".join(
            f"{cid},{given},Family,{email},70,data,London,yes,female,A,no,no,\n" for cid, email in zip(ids, emails)
        )
    )
    return path


@pytest.fixture
def db(any_db_url):
    engine = make_engine(any_db_url)
    upgrade(engine)
    yield any_db_url, engine
    engine.dispose()


def test_a_purge_racing_an_import_never_erases_what_the_import_reported(db, tmp_path):
    url, engine = db
    importer, purger = make_engine(url), make_engine(url)
    yesterday = date.today() - timedelta(days=1)
    seen = {"import first": 0, "purge first": 0}
    for it in range(12):
        ids = [f"P{it:02d}-{i:03d}" for i in range(150)]
        import_file(engine, "candidates", _candidates(tmp_path / f"old{it}.csv", ids, "Old"))
        with transaction(engine) as s:  # that import happened years ago: past its retention date
            s.execute(update(ImportBatch).values(imported_at=datetime(2020, 1, 1, tzinfo=UTC)))
        new = _candidates(tmp_path / f"new{it}.csv", ids, "New")

        imported, purged = run_together(
            partial(import_file, importer, "candidates", new), partial(purge, purger, yesterday)
        )
        assert not isinstance(purged, BaseException), repr(purged)
        with transaction(engine) as s:
            rows = s.execute(
                select(Candidate.given_name, Candidate.email, Candidate.purged_at).where(
                    Candidate.candidate_id.in_(ids)
                )
            ).all()
        assert len(rows) == len(ids)
        # Never half purged: a purged row keeps no name or email.
        assert not [r for r in rows if r.purged_at is not None and (r.given_name or r.email)]
        if isinstance(imported, BaseException):
            # The purge went first; the import then refused the purged candidates and wrote nothing.
            assert isinstance(imported, InputError), repr(imported)
            assert "purged" in str(imported)
            assert all(r.purged_at is not None for r in rows)
            assert purged.candidates >= len(ids)
            seen["purge first"] += 1
        else:
            # The import went first: what it reported updated is there, and the purge kept it (just involved).
            assert imported.updated == len(ids)
            assert {(r.given_name, r.purged_at) for r in rows} == {("New", None)}
            seen["import first"] += 1
    importer.dispose()
    purger.dispose()
    assert sum(seen.values()) == 12


def test_two_imports_at_once_never_leave_twins_or_repeated_ranks(db, tmp_path):
    url, engine = db
    a, b = make_engine(url), make_engine(url)
    hosts = tmp_path / "hosts.csv"
    hosts.write_text(HOST_HEADER + "".join(f"H{i},Host {i},acute,London,2,data,,\n" for i in range(1, 7)))
    import_file(engine, "hosts", hosts)
    for it in range(15):
        # Twins differing only in case, with emails differing only in case.
        twin_a = _candidates(tmp_path / f"a{it}.csv", [f"Z-{it}"], "Anna", [f"Same.{it}@Example.org"])
        twin_b = _candidates(tmp_path / f"b{it}.csv", [f"z-{it}"], "Bala", [f"same.{it}@example.org"])
        outcomes = run_together(
            partial(import_file, a, "candidates", twin_a), partial(import_file, b, "candidates", twin_b)
        )
        for outcome in outcomes:
            if isinstance(outcome, BaseException):
                assert isinstance(outcome, PlacementError), repr(outcome)
                assert "nothing was written" in str(outcome)
        with transaction(engine) as s:
            n = s.scalar(
                select(func.count()).select_from(Candidate).where(func.lower(Candidate.candidate_id) == f"z-{it}")
            )
        assert n == 1, f"iteration {it}: {n} twins of z-{it}"

        # Two preference lists for the same candidate at once: one list wins whole.
        prefs = []
        for k, hosts_of in enumerate((("H1", "H2", "H3"), ("H4", "H5", "H6"))):
            path = tmp_path / f"prefs{it}-{k}.csv"
            path.write_text(
                "candidate_id,host_id,rank\n" + "".join(f"Z-{it},{h},{r}\n" for r, h in enumerate(hosts_of, 1))
            )
            prefs.append(path)
        cid = f"Z-{it}" if not isinstance(outcomes[0], BaseException) else f"z-{it}"
        for path in prefs:
            path.write_text(path.read_text().replace(f"Z-{it},", f"{cid},"))
        outcomes = run_together(
            partial(import_file, a, "preferences", prefs[0]), partial(import_file, b, "preferences", prefs[1])
        )
        for outcome in outcomes:
            if isinstance(outcome, BaseException):
                assert isinstance(outcome, PlacementError), repr(outcome)
        with transaction(engine) as s:
            ranks = sorted(
                s.scalars(
                    select(Preference.rank)
                    .join(Candidate, Candidate.id == Preference.candidate_pk)
                    .where(Candidate.candidate_id == cid)
                ).all()
            )
        assert ranks == [1, 2, 3], f"iteration {it}: ranks {ranks}"
    a.dispose()
    b.dispose()


def test_a_solve_loading_the_scheme_during_imports_reads_one_state(db, tmp_path):
    url, engine = db
    base = Path(__file__).resolve().parent / "corpus" / "base"
    import_dir(engine, base)
    writer, reader = make_engine(url), make_engine(url)
    folders = []
    for it in range(12):
        # Each import adds hosts and preferences for them in one transaction.
        folder = tmp_path / f"add{it}"
        folder.mkdir()
        (folder / "hosts.csv").write_text(
            HOST_HEADER + "".join(f"N{it}-{k},New host,acute,London,1,data,,\n" for k in range(40))
        )
        (folder / "preferences.csv").write_text(
            "candidate_id,host_id,rank\n"
            + "".join(f"C00{c},N{it}-{k},{k + 1}\n" for c in range(1, 7) for k in range(40))
        )
        folders.append(folder)
    done = threading.Event()
    failures: list[BaseException] = []
    loads = [0]

    cohort = resolve_in(reader, None)

    def read_again_and_again():
        while not done.is_set():
            try:
                encoded, _, _, _ = prepare(reader, RoundOptions(), cohort)
                # The snapshot is whole: every host a preference names was loaded with it.
                assert encoded.problem.n_hosts >= 4
            except BaseException as exc:  # noqa: BLE001 - reported below
                failures.append(exc)
            loads[0] += 1

    thread = threading.Thread(target=read_again_and_again)
    thread.start()
    try:
        for folder in folders:
            import_dir(writer, folder)
    finally:
        done.set()
        thread.join(120)
    writer.dispose()
    reader.dispose()
    assert loads[0] > 0
    assert not failures, f"{len(failures)} of {loads[0]} loads failed, e.g. {failures[0]!r}"


@pytest.mark.postgres
def test_an_import_waiting_for_the_postgresql_lock_gives_up_clearly(pg_url, tmp_path):
    engine = make_engine(pg_url)
    upgrade(engine)
    quick = make_engine(pg_url, busy_timeout=0.3)
    path = _candidates(tmp_path / "c.csv", ["C1"], "Anna")
    try:
        with write_transaction(engine, lock="scheme"), pytest.raises(ConcurrencyError) as excinfo:
            import_file(quick, "candidates", path)
    finally:
        quick.dispose()
    assert "Another placement command is writing to this database" in excinfo.value.message
    assert "nothing was written" in excinfo.value.message
    with transaction(engine) as s:
        assert s.scalar(select(func.count()).select_from(Candidate)) == 0
        held = s.execute(
            text(
                "SELECT count(*) FROM pg_locks l JOIN pg_database d ON d.oid = l.database "
                "WHERE l.locktype = 'advisory' AND d.datname = current_database()"
            )
        ).scalar()
        assert held == 0
    engine.dispose()


@pytest.fixture
def two_rounds(db):
    """Round 1 approved (offers out), round 2 solved from it as a proposal; C-ids of round 1's offers."""
    from placement.approval import approve_round
    from placement.rounds import solve_round
    from tests.helpers.rounds import placements, small_scheme

    url, engine = db
    small_scheme(engine)
    solve_round(engine)
    approve_round(engine, 1, "Alex Coordinator")
    offered = sorted(placements(engine, 1))
    return url, engine, offered


def test_approving_a_proposal_solved_before_a_later_answer_is_refused(two_rounds):
    from placement.approval import approve_round
    from placement.errors import RoundError
    from placement.rounds import record_response, solve_round
    from tests.helpers.rounds import placements

    _url, engine, offered = two_rounds
    assert solve_round(engine).round == 2
    record_response(engine, offered[0], "decline")  # after round 2 was solved
    with pytest.raises(RoundError) as excinfo:
        approve_round(engine, 2, "Alex Coordinator")
    # Refused: the decline either marked the stale proposal superseded, or approval saw its basis change.
    assert (
        "was solved before the latest answers" in excinfo.value.message
        or "is superseded, not a proposal" in excinfo.value.message
    )
    assert placements(engine, 1)[offered[0]][1] == "declined"
    # Solving again takes the decline into account, and that round can be approved.
    assert solve_round(engine).round == 3
    approve_round(engine, 3, "Alex Coordinator")
    third = placements(engine, 3)
    assert third.get(offered[0], ("", ""))[0] != placements(engine, 1)[offered[0]][0]


def test_an_answer_recorded_while_solving_stops_the_store(two_rounds, monkeypatch):
    from placement import rounds
    from placement.rounds import record_response, solve_round

    _url, engine, offered = two_rounds
    real_store = rounds._store

    def answer_then_store(*args):
        record_response(engine, offered[1], "decline")  # lands between the scheme's read and the store
        return real_store(*args)

    monkeypatch.setattr(rounds, "_store", answer_then_store)
    with pytest.raises(ConcurrencyError) as excinfo:
        solve_round(engine)
    assert "was recorded while this round was being solved" in excinfo.value.message
    with transaction(engine) as s:
        from placement.db.models import Round

        assert s.scalars(select(Round.number)).all() == [1]
