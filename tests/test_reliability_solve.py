"""Solves that are interrupted, run at the same time, or re-derived.

- ``placement solve`` killed by SIGINT or SIGTERM while solving leaves no
  partial round; killed while writing, it leaves either no round or a whole one.
- Two solves at once on PostgreSQL make rounds N and N+1 (never two round Ns),
  each holding exactly one solve's answer.
- A stored round re-derived from its stored inputs and options gives the same
  placements.

The interrupted solves run ``placement solve`` in a subprocess on a generated
scheme large enough to be mid-solve when the signal arrives, with a short
``--time-limit`` so the tests take seconds. The subprocess is the real command
with one line of instrumentation (CP-SAT's search announces its start on
stderr), so a signal lands inside the search deterministically.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select

from placement.db.migrate import upgrade
from placement.db.models import Candidate, Host, HostPlace, Placement, Round
from placement.db.session import make_engine, transaction
from placement.generate import generate_scheme
from placement.ingest import import_dir
from placement.resolves import rederive
from placement.rounds import RoundOptions, solve_round

BASE = Path(__file__).resolve().parent / "corpus" / "base"
BIG = 1200  # candidates: big enough that the CP-SAT search is still running when the signal arrives
SOLVE_LIMIT = "8"  # seconds: the solve is interrupted well before this


def _cli(db_url: str, *args: str) -> list[str]:
    return [sys.executable, "-c", "from placement.cli import main; main()", "--db", db_url, *args]


# The real `placement solve`, with one line of instrumentation: CP-SAT's search announces itself on
# stderr, so a signal can be sent while the process is inside it rather than at a guessed moment.
SEARCH_STARTS = "[test] CP-SAT search starts"
_HOOKED = f"""
import sys
from ortools.sat.python import cp_model
_solve = cp_model.CpSolver.solve
def _announced(self, *args, **kwargs):
    print({SEARCH_STARTS!r}, file=sys.stderr, flush=True)
    return _solve(self, *args, **kwargs)
cp_model.CpSolver.solve = _announced
from placement.cli import main
main()
"""


@pytest.fixture(scope="module")
def big_db(tmp_path_factory) -> Path:
    """A generated scheme of BIG candidates with targets, imported once; tests solve on copies."""
    folder = tmp_path_factory.mktemp("big")
    generate_scheme(folder / "scheme", candidates=BIG, seed=11)
    db = folder / "template.db"
    engine = make_engine(f"sqlite:///{db}")
    upgrade(engine)
    import_dir(engine, folder / "scheme")
    engine.dispose()
    return db


@pytest.fixture
def big_copy(big_db, tmp_path) -> Path:
    db = tmp_path / "placement.db"
    shutil.copyfile(big_db, db)
    return db


def rounds_and_placements(db: Path) -> tuple[list[tuple], int]:
    conn = sqlite3.connect(db)
    try:
        rounds = conn.execute("select number, state, status from rounds order by number").fetchall()
        placements = conn.execute("select count(*) from placements").fetchone()[0]
        assert conn.execute("pragma integrity_check").fetchone()[0] == "ok"
        return rounds, placements
    finally:
        conn.close()


def _as_in_a_terminal() -> None:
    """Ctrl-C as a coordinator's terminal delivers it. A test run started in the background (``pytest &``,
    CI under ``nohup``) inherits SIGINT ignored, the solve child would inherit that too, and Python then
    installs no KeyboardInterrupt handler: the Ctrl-C tests would see a solve run to the end."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


class Watched:
    """A `placement solve` subprocess whose stderr is read as it arrives (the progress line says when it solves)."""

    def __init__(self, db: Path, *options: str):
        # A terminal as far as rich is concerned, so the progress line is written to stderr.
        env = {**os.environ, "TTY_COMPATIBLE": "1", "TTY_INTERACTIVE": "1", "COLUMNS": "200"}
        self.proc = subprocess.Popen(
            [sys.executable, "-c", _HOOKED, "--db", f"sqlite:///{db}", "solve", "--time-limit", SOLVE_LIMIT, *options],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=env,
            preexec_fn=_as_in_a_terminal,
        )
        self.err = bytearray()
        self._out = bytearray()
        # Both pipes are drained by threads of their own: communicate() would race the stderr
        # reader for the last lines (the interrupted message among them).
        self._readers = [
            threading.Thread(target=self._read, args=(self.proc.stderr, self.err), daemon=True),
            threading.Thread(target=self._read, args=(self.proc.stdout, self._out), daemon=True),
        ]
        for reader in self._readers:
            reader.start()

    @staticmethod
    def _read(pipe, into: bytearray) -> None:
        while chunk := pipe.read1(4096):
            into += chunk

    @property
    def out(self) -> bytes:
        return bytes(self._out)

    def wait_for(self, *texts: str, timeout: float = 60) -> bool:
        """Wait until stderr shows each of ``texts`` in turn (each after the one before)."""
        deadline = time.monotonic() + timeout
        start = 0
        for text in texts:
            while True:
                found = self.err.find(text.encode(), start)
                if found >= 0:
                    start = found + len(text)
                    break
                if self.proc.poll() is not None and self.err.find(text.encode(), start) < 0:
                    return False
                if time.monotonic() > deadline:
                    return False
                time.sleep(0.01)
        return True

    def finish(self, timeout: float = 60) -> int:
        try:
            self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            pytest.fail(f"`placement solve` did not stop within {timeout} s of the signal")
        for reader in self._readers:
            reader.join(timeout=5)
        return self.proc.returncode

    @property
    def stderr(self) -> str:
        return self.err.decode(errors="replace")


def interrupt(db: Path, sig: signal.Signals, when: tuple[str, ...], delay: float) -> int:
    """Start `placement solve`, send ``sig`` ``delay`` s after stderr shows ``when``; check nothing was stored.

    Returns how many CP-SAT searches had started when the signal was sent.
    """
    before = rounds_and_placements(db)
    # Preferring stability makes the last level a long CP-SAT search (it runs to the time limit).
    solve = Watched(db, "--stability", "prefer")
    assert solve.wait_for(*when), f"the solve never reached {when!r}:\n{solve.stderr}"
    time.sleep(delay)
    assert solve.proc.poll() is None, f"the solve finished before the signal: make the scheme bigger\n{solve.stderr}"
    searches_before_signal = solve.stderr.count(SEARCH_STARTS)
    solve.proc.send_signal(sig)
    started = time.monotonic()
    code = solve.finish()
    after = rounds_and_placements(db)
    assert code != 0, f"exit code 0 after {sig.name}; rounds now {after}"
    assert after == before, f"{sig.name} left {after}"
    if sig == signal.SIGINT:  # Ctrl-C: a clean exit with a message and the README's code 130, not a crash
        assert code == 130, (
            f"exit code {code} after Ctrl-C (negative: killed by signal {-code}):\n{solve.stderr[-400:]}"
        )
        assert "terminate called" not in solve.stderr
    assert time.monotonic() - started < float(SOLVE_LIMIT) + 2, f"{sig.name} was ignored until past the time limit"
    return searches_before_signal


def test_sigint_while_loading_and_encoding_leaves_no_round(big_copy):
    # Sent as soon as loading shows, well before the first CP-SAT search (about a second later).
    searches = interrupt(big_copy, signal.SIGINT, ("Loading the scheme",), 0.0)
    assert searches == 0, "the signal was meant to arrive before any CP-SAT search"


def test_sigterm_inside_the_cp_sat_search_leaves_no_round(big_copy):
    interrupt(big_copy, signal.SIGTERM, ("CP-SAT with prefer stability", SEARCH_STARTS), 0.5)


def test_sigint_inside_the_cp_sat_search_leaves_no_round(big_copy):
    interrupt(big_copy, signal.SIGINT, ("CP-SAT with prefer stability", SEARCH_STARTS), 0.5)


def test_a_solve_killed_while_writing_leaves_no_round_or_a_whole_one(big_copy):
    """SIGKILL the moment SQLite's rollback journal appears: the round is being written, not yet committed."""
    journal = big_copy.with_name(big_copy.name + "-journal")
    solve = Watched(big_copy)
    assert solve.wait_for("Solved"), f"the solve never finished:\n{solve.stderr}"
    caught_writing = False
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and solve.proc.poll() is None:
        if journal.exists():
            solve.proc.kill()
            caught_writing = True
            break
        time.sleep(0.001)
    solve.finish()
    rounds, placements = rounds_and_placements(big_copy)  # opening the file rolls a hot journal back
    if caught_writing:
        assert (rounds, placements) == ([], 0), "a round killed mid-write was left behind"
    else:  # the write committed before the journal was seen: the round must then be whole
        conn = sqlite3.connect(big_copy)
        summary = json.loads(conn.execute("select summary from rounds").fetchone()[0])
        conn.close()
        assert len(rounds) == 1 and placements == summary["placed"]
    # The database is usable afterwards: not locked, and the next command sees the same state.
    from click.testing import CliRunner

    from placement.cli import cli

    listed = CliRunner().invoke(
        cli, ["--db", f"sqlite:///{big_copy}", "round", "list", "--json"], catch_exceptions=False
    )
    assert listed.exit_code == 0, listed.output
    assert [r["round"] for r in json.loads(listed.output)] == [number for number, _, _ in rounds]


# ------------------------------------------------------------------ concurrent solves


def _solve_in_thread(url: str, results: dict, key: str, barrier: threading.Barrier) -> None:
    engine = make_engine(url)
    barrier.wait()
    try:
        results[key] = solve_round(engine, RoundOptions(time_limit=20))
    except BaseException as exc:  # noqa: BLE001 - inspected by the test
        results[key] = exc
    finally:
        engine.dispose()


def _check_rounds_are_whole(url: str, results: dict) -> None:
    engine = make_engine(url)
    with transaction(engine) as s:
        numbers = s.scalars(select(Round.number).order_by(Round.number)).all()
        assert len(numbers) == len(set(numbers))
        for r in s.scalars(select(Round)).all():
            rows = s.execute(
                select(Candidate.candidate_id, Placement.rank)
                .join(Candidate, Candidate.id == Placement.candidate_pk)
                .where(Placement.round_id == r.id)
            ).all()
            assert len(rows) == r.summary["placed"], f"round {r.number}: placements do not match its summary"
            assert sum(rank for _, rank in rows) == r.summary["rank_sum"]
            assert len({cid for cid, _ in rows}) == len(rows)
            mine = [res for res in results.values() if not isinstance(res, BaseException) and res.round == r.number]
            assert len(mine) == 1, f"round {r.number} claimed by {len(mine)} solves"
            assert (mine[0].placed, mine[0].rank_sum) == (len(rows), sum(rank for _, rank in rows))
    engine.dispose()


@pytest.mark.postgres
def test_two_solves_at_once_make_two_whole_rounds(pg_url, tmp_path):
    generate_scheme(tmp_path / "scheme", candidates=200, seed=5)
    engine = make_engine(pg_url)
    upgrade(engine)
    import_dir(engine, tmp_path / "scheme")
    engine.dispose()

    results: dict = {}
    barrier = threading.Barrier(2)
    threads = [threading.Thread(target=_solve_in_thread, args=(pg_url, results, k, barrier)) for k in ("a", "b")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    failures = [r for r in results.values() if isinstance(r, BaseException)]
    from placement.errors import PlacementError

    for exc in failures:
        assert isinstance(exc, PlacementError), f"not a clear failure: {exc!r}"
    done = sorted(r.round for r in results.values() if not isinstance(r, BaseException))
    assert done == list(range(1, len(done) + 1)) and done, f"round numbers {done}, failures {failures}"
    _check_rounds_are_whole(pg_url, results)
    engine = make_engine(pg_url)
    with transaction(engine) as s:
        states = dict(s.execute(select(Round.number, Round.state)).all())
    engine.dispose()
    # The later proposal replaces the earlier one: exactly one proposal stands.
    assert list(states.values()).count("proposal") == 1


@pytest.mark.postgres
def test_two_cli_solves_at_once_on_postgresql(pg_url, tmp_path):
    """The same through `placement solve` in two processes."""
    generate_scheme(tmp_path / "scheme", candidates=120, seed=8)
    engine = make_engine(pg_url)
    upgrade(engine)
    import_dir(engine, tmp_path / "scheme")
    engine.dispose()
    procs = [
        subprocess.Popen(
            _cli(pg_url, "solve", "--time-limit", "20", "--json"),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    outs = [p.communicate(timeout=120) for p in procs]
    results = {}
    for i, (p, (out, err)) in enumerate(zip(procs, outs)):
        assert "Traceback" not in err, err
        if p.returncode == 0:
            d = json.loads(out)
            results[str(i)] = type("R", (), {"round": d["round"], "placed": d["placed"], "rank_sum": d["rank_sum"]})()
        else:
            assert err.strip().startswith("Error:"), err
    assert sorted(r.round for r in results.values()) == list(range(1, len(results) + 1)) and results
    _check_rounds_are_whole(pg_url, results)


# ------------------------------------------------------------------ re-derivation


def _stored_placements(engine, number: int) -> dict[str, tuple[str, int]]:
    with transaction(engine) as s:
        rnd = s.scalar(select(Round).where(Round.number == number))
        rows = s.execute(
            select(Candidate.candidate_id, Host.host_id, Placement.rank)
            .join(Candidate, Candidate.id == Placement.candidate_pk)
            .join(Host, Host.id == Placement.host_pk)
            .where(Placement.round_id == rnd.id)
        ).all()
    return {cid: (hid, rank) for cid, hid, rank in rows}


@pytest.mark.parametrize(
    "size", [pytest.param(0, id="base-scheme"), pytest.param(300, id="generated-300", marks=pytest.mark.slow)]
)
def test_a_stored_round_re_derives_to_the_same_placements(engine, tmp_path, size):
    if size:
        generate_scheme(tmp_path / "scheme", candidates=size, seed=3)
        import_dir(engine, tmp_path / "scheme")
    else:
        import_dir(engine, BASE)
    result = solve_round(engine, RoundOptions(time_limit=20))
    assert result.status in ("OPTIMAL", "FEASIBLE")
    stored = _stored_placements(engine, result.round)
    assert len(stored) == result.placed > 0
    assert rederive(engine, result.round) == stored


def test_re_derivation_ignores_later_changes_to_the_scheme(engine, tmp_path):
    """The stored inputs, not the tables as they are now, are what a round re-derives from."""
    import_dir(engine, BASE)
    result = solve_round(engine, RoundOptions(time_limit=20))
    stored = _stored_placements(engine, result.round)
    with transaction(engine) as s:  # a host withdraws after the round
        s.execute(HostPlace.__table__.update().values(capacity=0))
    assert rederive(engine, result.round) == stored
    with transaction(engine) as s:
        assert s.scalar(select(func.count()).select_from(Round)) == 1
