"""Solves in the background: each in its own process, its progress and result in the database (``web_jobs``).

A solve at 20,000 candidates keeps a core busy for a minute; in a process of
its own it never holds up the server's pages, and any worker process of the
server can show its progress or cancel it (the job row is shared). The job
process runs the library's ``solve_round`` as the account that started it
(so the audit log names them) and polls the row for a cancel request; a
cancelled solve stops at once and stores nothing (every write is one
transaction).

Run as ``python -m placement.web.jobs JOB_ID`` with ``PLACEMENT_DATABASE_URL`` set.
"""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
import threading
import time
from dataclasses import asdict
from typing import Any

from sqlalchemy import Engine, select, update

from ..accounts import now
from ..config import DATABASE_URL_ENV, acting_as
from ..db.models import WebJob
from ..db.session import transaction, write_session
from ..rounds import RoundOptions, log_action

RUNNING, DONE, FAILED, CANCELLED = "running", "done", "failed", "cancelled"
POLL_SECONDS = 0.5
SHOWN_JOBS = 10


def start_solve(engine: Engine, options: RoundOptions, *, cohort: str | None, actor: str) -> str:
    """Record the job and start its process; returns the job's id."""
    from ..cohorts import resolve_in

    scope = resolve_in(engine, cohort, "write")  # a closed or unknown cohort is refused here, not in the job
    job_id = secrets.token_hex(8)
    at = now()
    with write_session(engine) as s:
        s.add(WebJob(id=job_id, kind="solve", state=RUNNING, cohort=scope.name, created_by=actor, created_at=at,
                     updated_at=at, progress="Starting the solve\n", cancel_requested=False,
                     result={"options": asdict(options)}))
    env = {**os.environ, DATABASE_URL_ENV: engine.url.render_as_string(hide_password=False)}
    process = subprocess.Popen([sys.executable, "-m", "placement.web.jobs", job_id], env=env,
                               stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                               start_new_session=True)

    def reap() -> None:  # wait for it (no zombie), and say so if it died without a word
        _, err = process.communicate()
        if process.returncode not in (0, None):
            _finish(engine, job_id, FAILED, {"error": "The solve stopped unexpectedly.",
                                             "hint": (err or b"").decode(errors="replace")[-500:]}, only_running=True)

    threading.Thread(target=reap, name=f"placement-job-{job_id}", daemon=True).start()
    return job_id


def job(engine: Engine, job_id: str) -> WebJob | None:
    with transaction(engine) as s:
        found = s.get(WebJob, job_id)
        if found is not None:
            s.expunge(found)
        return found


def recent(engine: Engine, cohort: str) -> list[WebJob]:
    with transaction(engine) as s:
        rows = list(s.scalars(select(WebJob).where(WebJob.cohort == cohort).order_by(WebJob.created_at.desc())
                              .limit(SHOWN_JOBS)))
        for r in rows:
            s.expunge(r)
        return rows


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


def _watch_for_cancel(engine: Engine, job_id: str, actor: str, cohort: str) -> None:
    from ..cohorts import resolve

    while True:
        with transaction(engine) as s:
            wanted = s.scalar(select(WebJob.cancel_requested).where(WebJob.id == job_id))
        if wanted:
            with write_session(engine) as s:
                s.execute(update(WebJob).where(WebJob.id == job_id, WebJob.state == RUNNING)
                          .values(state=CANCELLED, updated_at=now(), progress=WebJob.progress + "Cancelled.\n"))
                scope = resolve(s, cohort)
                with acting_as(actor):
                    log_action(s, "solve", "a solve started in the web console was cancelled; no round stored", scope)
            os._exit(0)  # the solve's own transaction, if one was open, is rolled back with the process
        time.sleep(POLL_SECONDS)


def run_job(engine: Engine, job_id: str) -> None:
    from ..errors import PlacementError
    from ..rounds import solve_round

    found = job(engine, job_id)
    if found is None or found.state != RUNNING:
        return
    options = RoundOptions(**(found.result or {})["options"])
    threading.Thread(target=_watch_for_cancel, args=(engine, job_id, found.created_by, found.cohort),
                     daemon=True).start()
    try:
        with acting_as(found.created_by):
            result = solve_round(engine, options, progress=lambda line: _say(engine, job_id, line), cohort=found.cohort)
    except PlacementError as exc:
        _finish(engine, job_id, FAILED, {"error": exc.message, "hint": exc.hint or ""}, only_running=True)
        return
    _finish(engine, job_id, DONE, {"round": result.to_json()}, only_running=True)


def main(argv: list[str]) -> int:
    from ..config import database_url
    from ..db.session import make_engine

    engine = make_engine(database_url())
    run_job(engine, argv[0])
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
