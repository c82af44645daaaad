"""Storing a solve, approving a round and recording answers check, then write, under one lock.

Each of them reads (is this round the latest proposal? which round is the latest
approved? is this offer still open?) and then writes. ``write_session(engine,
lock="rounds")`` takes the lock before the first read: BEGIN IMMEDIATE on
SQLite, a transaction-scoped advisory lock on PostgreSQL (where read committed
alone locks nothing). So while another command holds it they wait, and then
check against what that command committed:

- an approval waits for a held lock and proceeds when it is released;
- two racing approvals cannot both pass: the second sees the first's approval;
- a store waits (after its solve, which holds no lock), and so do answers;
- on SQLite, an approval that cannot get the lock within the busy timeout fails
  with a clear message and writes nothing.

Real databases only: a SQLite file and (when configured) PostgreSQL.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import pytest
from sqlalchemy import create_engine, event, func, select, text

from placement import rounds
from placement.approval import approve_round
from placement.db.migrate import upgrade
from placement.db.models import AuditLog, Placement, Round
from placement.db.session import ADVISORY_LOCKS, make_engine, sqlite_path, transaction
from placement.errors import ConcurrencyError, RoundError
from placement.rounds import record_response, solve_round
from tests.helpers.rounds import placements, small_scheme

BUSY_MESSAGE = "Another placement command is writing to this database"


@pytest.fixture
def db(any_db_url):
    eng = make_engine(any_db_url)
    upgrade(eng)
    small_scheme(eng)
    yield any_db_url, eng
    eng.dispose()


@contextmanager
def rounds_lock_held(url: str) -> Iterator[Callable[[str], None]]:
    """Another connection holds the lock the rounds writers take, in an open transaction, until the block
    ends (then commits). Yields a function that runs SQL in that transaction."""
    if sqlite_path(url) is not None:
        holder = sqlite3.connect(sqlite_path(url), isolation_level=None)
        holder.execute("BEGIN IMMEDIATE")
        try:
            yield lambda sql: holder.execute(sql)
            holder.execute("COMMIT")
        finally:
            if holder.in_transaction:
                holder.execute("ROLLBACK")
            holder.close()
    else:
        other = create_engine(url)
        try:
            with other.connect() as conn:
                conn.begin()
                conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": ADVISORY_LOCKS["rounds"]})
                yield lambda sql: conn.execute(text(sql))
                conn.commit()
        finally:
            other.dispose()


def _waits_then_runs(
    url: str, job: Callable, *, started: threading.Event | None = None, before_release: Callable | None = None
):
    """Hold the rounds lock, start ``job(engine)`` in a thread on its own engine, show it is still waiting
    well after ``started`` (default: its first statement), run ``before_release(sql)`` in the holder's
    transaction, release, and return what the job returned (or raised)."""
    eng = make_engine(url)
    outcome: dict[str, object] = {}
    if started is None:
        started = threading.Event()
        event.listen(eng, "before_cursor_execute", lambda *_a, **_k: started.set())

    def run() -> None:
        try:
            outcome["result"] = job(eng)
        except BaseException as exc:  # noqa: BLE001 - the test inspects it
            outcome["result"] = exc

    worker = threading.Thread(target=run, name="rounds-writer")
    try:
        with rounds_lock_held(url) as sql:
            worker.start()
            assert started.wait(120), f"the job never reached the database: {outcome.get('result')!r}"
            worker.join(1.0)
            assert worker.is_alive(), f"the job did not wait for the held lock: {outcome.get('result')!r}"
            if before_release is not None:
                before_release(sql)
        worker.join(60)
        assert not worker.is_alive(), "the job hung after the lock was released"
    finally:
        worker.join(60)
        eng.dispose()
    return outcome["result"]


def _round_states(engine) -> dict[int, tuple[str, str | None]]:
    with transaction(engine) as s:
        return {n: (st, by) for n, st, by in s.execute(select(Round.number, Round.state, Round.approved_by)).all()}


def test_an_approval_waits_for_the_held_lock_then_proceeds(db):
    url, engine = db
    solve_round(engine)
    result = _waits_then_runs(url, lambda eng: approve_round(eng, 1, "Alex Coordinator"))
    assert result == 4
    assert _round_states(engine) == {1: ("approved", "Alex Coordinator")}
    assert all(st == "offered" for _, st in placements(engine, 1).values())


def test_of_two_racing_approvals_only_the_first_passes_its_checks(db):
    url, engine = db
    solve_round(engine)

    def approve_in_holder(sql):
        # The holder approves round 1 (as a racing `round approve` would) and commits when it releases.
        sql(
            "UPDATE rounds SET state = 'approved', approved_by = 'First Approver', approved_at = CURRENT_TIMESTAMP WHERE number = 1"
        )
        sql("UPDATE placements SET offer_status = 'offered'")

    result = _waits_then_runs(
        url, lambda eng: approve_round(eng, 1, "Second Approver"), before_release=approve_in_holder
    )
    # Checked after the first approval committed: refused, not approved twice.
    assert isinstance(result, RoundError), result
    assert "is approved, not a proposal" in result.message
    assert _round_states(engine) == {1: ("approved", "First Approver")}
    with transaction(engine) as s:
        assert s.scalars(select(AuditLog.action)).all() == ["solve"]


@pytest.fixture
def store_entered(monkeypatch) -> threading.Event:
    """Set when a solve reaches ``_store``: its solve is over, so from then on only the store can wait."""
    entered = threading.Event()
    real_store = rounds._store

    def store(*args):
        entered.set()
        return real_store(*args)

    monkeypatch.setattr(rounds, "_store", store)
    return entered


def test_a_store_waits_for_the_held_lock_then_stores_the_next_round(db, store_entered):
    url, engine = db
    solve_round(engine)
    result = _waits_then_runs(url, solve_round, started=store_entered)
    assert isinstance(result, rounds.RoundResult), result
    assert result.round == 2
    assert _round_states(engine) == {1: ("superseded", None), 2: ("proposal", None)}


def test_a_store_that_waited_sees_a_round_approved_meanwhile_and_stores_nothing(db, store_entered):
    """The solve started from no approved round; round 1 is approved while its store waits: refused."""
    url, engine = db
    solve_round(engine)

    def approve_in_holder(sql):
        sql(
            "UPDATE rounds SET state = 'approved', approved_by = 'First Approver', approved_at = CURRENT_TIMESTAMP WHERE number = 1"
        )

    result = _waits_then_runs(url, solve_round, started=store_entered, before_release=approve_in_holder)
    assert isinstance(result, ConcurrencyError), result
    assert "Another round was approved while this one was being solved" in result.message
    assert _round_states(engine) == {1: ("approved", "First Approver")}


def test_an_answer_waits_for_the_held_lock_and_sees_a_racing_answer(db):
    url, engine = db
    solve_round(engine)
    approve_round(engine, 1, "Alex Coordinator")
    cid = sorted(placements(engine, 1))[0]

    def decline_in_holder(sql):
        sql(
            f"UPDATE placements SET offer_status = 'declined' WHERE candidate_pk = "
            f"(SELECT id FROM candidates WHERE candidate_id = '{cid}')"
        )

    result = _waits_then_runs(url, lambda eng: record_response(eng, cid, "accept"), before_release=decline_in_holder)
    assert isinstance(result, RoundError), result
    assert "is already declined" in result.message
    assert placements(engine, 1)[cid][1] == "declined"


def test_an_approval_that_cannot_get_the_lock_in_time_fails_clearly_and_writes_nothing(sqlite_url, engine):
    small_scheme(engine)
    solve_round(engine)
    quick = make_engine(sqlite_url, busy_timeout=0.3)
    try:
        with rounds_lock_held(sqlite_url), pytest.raises(ConcurrencyError) as excinfo:
            approve_round(quick, 1, "Alex Coordinator")
    finally:
        quick.dispose()
    assert excinfo.value.message.startswith(BUSY_MESSAGE)
    assert "nothing was written" in excinfo.value.message
    assert _round_states(engine) == {1: ("proposal", None)}
    assert all(st == "proposed" for _, st in placements(engine, 1).values())
    with transaction(engine) as s:
        assert s.scalars(select(AuditLog.action)).all() == ["solve"]
        assert s.scalar(select(func.count()).select_from(Placement).where(Placement.offer_status != "proposed")) == 0
