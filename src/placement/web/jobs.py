"""Solves and scenario comparisons in the background: each in its own process, its progress and result in the
database (``web_jobs``; ``kind`` is ``solve`` or ``scenario``).

A solve at 20,000 candidates keeps a core busy for a minute; in a process of
its own it never holds up the server's pages, and any worker process of the
server can show its progress or cancel it (the job row is shared). The job
process runs the library's ``solve_round`` as the account that started it
(so the audit log names them) and polls the row for a cancel request; a
cancelled solve stops at once and stores nothing (every write is one
transaction).

A job process that dies without a word (killed, out of memory, the machine or
the server restarted) cannot mark its own row. So the job process writes its
process id and machine name and a heartbeat into the row, and whoever reads a
running job (any page, any worker) checks it is still alive: a job whose
process is gone from this machine, or whose heartbeat is older than
``STALE_SECONDS``, is marked failed with a plain message, so the coordinator
sees why and can start another.

Run as ``python -m placement.web.jobs JOB_ID`` with ``PLACEMENT_DATABASE_URL`` set.
"""

from __future__ import annotations

import os
import secrets
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import asdict
from datetime import timedelta
from typing import Any

from sqlalchemy import Engine, select, update
from sqlalchemy.exc import SQLAlchemyError

from ..accounts import _aware, now
from ..config import DATABASE_URL_ENV, acting_as
from ..db.models import WebJob
from ..db.session import transaction, write_session
from ..rounds import RoundOptions, log_action

RUNNING, DONE, FAILED, CANCELLED = "running", "done", "failed", "cancelled"
SOLVE, SCENARIO = "solve", "scenario"
WHAT = {SOLVE: "solve", SCENARIO: "comparison"}
POLL_SECONDS = 0.5
SHOWN_JOBS = 10
# The job process beats every HEARTBEAT_SECONDS; a beat can wait behind a long write (the round's store holds
# the SQLite lock for seconds at 20,000 candidates), so the bound is generous: a job silent for five minutes
# is dead, whatever its process id says (a process id can be reused by an unrelated process).
HEARTBEAT_SECONDS = 15.0
STALE_SECONDS = 300.0
# {what}: the job's kind in words (WHAT).
DIED = (
    "The {what} stopped unexpectedly: its process is no longer running (the server may have restarted, "
    "or the machine ran out of memory). Nothing was stored."
)
DIED_HINT = "Start the {what} again. If it stops again, ask whoever runs the server to look at its log."


def start_solve(engine: Engine, options: RoundOptions, *, cohort: str | None, actor: str) -> str:
    """Record a solve and start its process; returns the job's id."""
    return _start(engine, SOLVE, {"options": asdict(options)}, "Starting the solve", cohort=cohort, actor=actor)


def start_scenario(
    engine: Engine,
    base: int,
    variants: list[str],
    *,
    edition: str,
    allow_quota: bool,
    cohort: str | None,
    actor: str,
) -> str:
    """Record a scenario comparison of round ``base`` (``placement scenario compare``) and start its process.

    The variants are read here first (the library's own reading), so that a variant that cannot be read is
    refused before any process starts; whether it names a target of the round is checked by the comparison.
    """
    from ..audit.editions import Edition
    from ..scenario.variants import parse_variant

    for text in variants:
        parse_variant(text)
    spec = {"base": base, "variants": variants, "edition": Edition.parse(edition).value, "allow_quota": allow_quota}
    return _start(engine, SCENARIO, {"scenario": spec}, "Starting the comparison", cohort=cohort, actor=actor)


def _start(
    engine: Engine, kind: str, result: dict[str, Any], first_line: str, *, cohort: str | None, actor: str
) -> str:
    from ..cohorts import resolve_in

    # A solve writes: a closed or unknown cohort is refused here, not in the job. A comparison only reads.
    scope = resolve_in(engine, cohort, "write" if kind == SOLVE else "read")
    job_id = secrets.token_hex(8)
    at = now()
    with write_session(engine) as s:
        s.add(
            WebJob(
                id=job_id,
                kind=kind,
                state=RUNNING,
                cohort=scope.name,
                created_by=actor,
                created_at=at,
                updated_at=at,
                progress=first_line + "\n",
                cancel_requested=False,
                result=result,
            )
        )
    env = {**os.environ, DATABASE_URL_ENV: engine.url.render_as_string(hide_password=False)}
    process = subprocess.Popen(
        [sys.executable, "-m", "placement.web.jobs", job_id],
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    what = WHAT[kind]

    def reap() -> None:  # wait for it (no zombie), and say so if it died without a word
        _, err = process.communicate()
        if process.returncode not in (0, None):
            _finish(
                engine,
                job_id,
                FAILED,
                {"error": f"The {what} stopped unexpectedly.", "hint": (err or b"").decode(errors="replace")[-500:]},
                only_running=True,
            )

    threading.Thread(target=reap, name=f"placement-job-{job_id}", daemon=True).start()
    return job_id


def _read_job(engine: Engine, job_id: str) -> WebJob | None:
    with transaction(engine) as s:
        found = s.get(WebJob, job_id)
        if found is not None:
            s.expunge(found)
        return found


def job(engine: Engine, job_id: str, kind: str = SOLVE) -> WebJob | None:
    """The job of that kind, a running one whose process has died marked failed first."""
    found = _read_job(engine, job_id)
    if found is None or found.kind != kind:
        return None
    if _dead(found):
        _bury(engine, found)
        found = _read_job(engine, job_id)
    return found


def _read_recent(engine: Engine, cohort: str, kind: str) -> list[WebJob]:
    with transaction(engine) as s:
        rows = list(
            s.scalars(
                select(WebJob)
                .where(WebJob.cohort == cohort, WebJob.kind == kind)
                .order_by(WebJob.created_at.desc())
                .limit(SHOWN_JOBS)
            )
        )
        for r in rows:
            s.expunge(r)
        return rows


def recent(engine: Engine, cohort: str, kind: str = SOLVE) -> list[WebJob]:
    """The cohort's latest jobs of that kind, running ones whose process has died marked failed first."""
    rows = _read_recent(engine, cohort, kind)
    dead = [r for r in rows if _dead(r)]
    for r in dead:
        _bury(engine, r)
    return _read_recent(engine, cohort, kind) if dead else rows


def _process_alive(pid: int) -> bool:
    """Whether process ``pid`` runs on this machine (a zombie, dead but not yet waited for, counts as dead)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process: alive (the heartbeat bound still catches a reused id)
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as stat:
            return stat.read().rsplit(")", 1)[-1].split()[0] != "Z"
    except OSError:
        return True  # no /proc (not Linux): trust the kill check


def _dead(found: WebJob) -> bool:
    """A running job whose process is gone from this machine, or that has been silent beyond the bound."""
    if found.state != RUNNING:
        return False
    if now() - _aware(found.updated_at) > timedelta(seconds=STALE_SECONDS):
        return True
    result = found.result or {}
    pid, host = result.get("pid"), result.get("host")
    return isinstance(pid, int) and host == socket.gethostname() and not _process_alive(pid)


def _bury(engine: Engine, found: WebJob) -> None:
    """Mark a dead job failed; only if it is still running (its process may have finished it meanwhile)."""
    what = WHAT.get(found.kind, "solve")
    result = {**(found.result or {}), "error": DIED.format(what=what), "hint": DIED_HINT.format(what=what)}
    with write_session(engine) as s:
        s.execute(
            update(WebJob)
            .where(WebJob.id == found.id, WebJob.state == RUNNING)
            .values(state=FAILED, updated_at=now(), result=result)
        )


def _heartbeat(engine: Engine, job_id: str, *, first: bool = False) -> None:
    """Say this job's process is alive; the first beat also records which process and machine it is."""
    try:
        with write_session(engine) as s:
            found = s.get(WebJob, job_id)
            if found is None or found.state != RUNNING:
                return
            found.updated_at = now()
            if first:
                found.result = {**(found.result or {}), "pid": os.getpid(), "host": socket.gethostname()}
    except SQLAlchemyError:
        if first:
            raise
        # a beat that waited too long behind another writer is skipped; the next one comes soon


def cancel(engine: Engine, job_id: str) -> bool:
    """Ask a running solve to stop; False when it is not running (finished already, or unknown)."""
    with write_session(engine) as s:
        found = s.get(WebJob, job_id)
        if found is None or found.state != RUNNING:
            return False
        found.cancel_requested = True
        return True


def _say(engine: Engine, job_id: str, line: str) -> None:
    with write_session(engine) as s:
        found = s.get(WebJob, job_id)
        if found is not None:
            found.progress = (found.progress + line.rstrip() + "\n")[-20_000:]
            found.updated_at = now()


def _finish(engine: Engine, job_id: str, state: str, result: dict[str, Any], *, only_running: bool = False) -> None:
    with write_session(engine) as s:
        found = s.get(WebJob, job_id)
        if found is None or (only_running and found.state != RUNNING):
            return
        found.state, found.updated_at = state, now()
        found.result = {**(found.result or {}), **result}


CANCELLED_LOG = {
    SOLVE: "a solve started in the web console was cancelled; no round stored",
    SCENARIO: "a scenario comparison started in the web console was cancelled",
}


def _watch_for_cancel(engine: Engine, job_id: str, actor: str, cohort: str, kind: str) -> None:
    from ..cohorts import resolve

    beaten = time.monotonic()
    while True:
        if time.monotonic() - beaten >= HEARTBEAT_SECONDS:
            _heartbeat(engine, job_id)
            beaten = time.monotonic()
        with transaction(engine) as s:
            wanted = s.scalar(select(WebJob.cancel_requested).where(WebJob.id == job_id))
        if wanted:
            with write_session(engine) as s:
                s.execute(
                    update(WebJob)
                    .where(WebJob.id == job_id, WebJob.state == RUNNING)
                    .values(state=CANCELLED, updated_at=now(), progress=WebJob.progress + "Cancelled.\n")
                )
                scope = resolve(s, cohort)
                with acting_as(actor):
                    log_action(s, kind, CANCELLED_LOG[kind], scope)
            # The solve's own transaction, if one was open, is rolled back with the process; a comparison's
            # worker processes exit with it (``placement.worker``).
            os._exit(0)
        time.sleep(POLL_SECONDS)


def run_job(engine: Engine, job_id: str) -> None:
    from ..errors import PlacementError

    found = _read_job(engine, job_id)
    if found is None or found.state != RUNNING:
        return
    _heartbeat(engine, job_id, first=True)
    threading.Thread(
        target=_watch_for_cancel, args=(engine, job_id, found.created_by, found.cohort, found.kind), daemon=True
    ).start()
    run = _run_scenario if found.kind == SCENARIO else _run_solve
    try:
        with acting_as(found.created_by):
            result = run(engine, found, lambda line: _say(engine, job_id, line))
    except PlacementError as exc:
        _finish(engine, job_id, FAILED, {"error": exc.message, "hint": exc.hint or ""}, only_running=True)
        return
    _finish(engine, job_id, DONE, result, only_running=True)


def _run_solve(engine: Engine, found: WebJob, say: Callable[[str], None]) -> dict[str, Any]:
    from ..rounds import solve_round

    options = RoundOptions(**(found.result or {})["options"])
    return {"round": solve_round(engine, options, progress=say, cohort=found.cohort).to_json()}


def _run_scenario(engine: Engine, found: WebJob, say: Callable[[str], None]) -> dict[str, Any]:
    from ..scenario import compare_scenarios, log_scenarios

    spec = (found.result or {})["scenario"]
    comparison = compare_scenarios(
        engine,
        spec["base"],
        spec["variants"],
        edition=spec["edition"],
        allow_quota=spec["allow_quota"],
        progress=say,
        cohort=found.cohort,
    )
    log_scenarios(engine, comparison, "html", "shown in the web console", cohort=found.cohort)
    return {"comparison": comparison}


# A solve in the background runs at a lower CPU priority than the server: on a small machine (2 cores) a solve
# keeps every core busy for minutes, and the coordinators' pages, a few milliseconds of CPU each, should not
# queue behind it. When the server is idle the solve still has every core.
JOB_NICENESS = 10


def main(argv: list[str]) -> int:
    from ..config import database_url
    from ..db.session import make_engine

    if hasattr(os, "nice"):
        os.nice(JOB_NICENESS)
    engine = make_engine(database_url())
    run_job(engine, argv[0])
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
