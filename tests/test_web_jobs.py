"""A background solve whose process died (killed, server restarted) does not stay "running" for ever: the
next page that reads it marks it failed with a plain message, and another solve can start."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import asdict
from datetime import timedelta

from sqlalchemy import select

from placement.accounts import now
from placement.config import DATABASE_URL_ENV
from placement.db.models import WebJob
from placement.db.session import transaction, write_session
from placement.rounds import RoundOptions
from placement.web import jobs
from tests.helpers.web import season_fixture, season_template_fixture, signed_in, token_on  # noqa: F401  (the fixtures)


def add_job(engine, job_id: str, *, silent_for: float = 0.0, **result) -> None:
    at = now() - timedelta(seconds=silent_for)
    options = asdict(RoundOptions(stability="strict", time_limit=600))
    with write_session(engine) as s:
        s.add(
            WebJob(
                id=job_id,
                kind="solve",
                state=jobs.RUNNING,
                cohort="default",
                created_by="web:coord",
                created_at=at,
                updated_at=at,
                progress="Starting the solve\n",
                cancel_requested=False,
                result={"options": options, **result},
            )
        )


def state(engine, job_id: str) -> str:
    with transaction(engine) as s:
        return s.scalar(select(WebJob.state).where(WebJob.id == job_id)) or ""


def dead_pid() -> int:
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    return gone.pid


def test_a_job_whose_process_is_gone_is_failed_when_read(season) -> None:
    client = signed_in(season, "coord")
    add_job(season, "gone", pid=dead_pid(), host=socket.gethostname())
    add_job(season, "silent", silent_for=jobs.STALE_SECONDS + 60)  # no beat for too long, wherever it ran
    add_job(season, "alive", pid=os.getpid(), host=socket.gethostname())
    add_job(season, "elsewhere", pid=dead_pid(), host="another-machine")  # can't see its process: trust the beat
    page = client.get("/solve/jobs/gone").text
    assert (
        "<h1>Solve: failed" in page and "its process is no longer running" in page and "Start the solve again" in page
    )
    assert 'http-equiv="refresh"' not in page and 'id="cancel"' not in page
    listing = client.get("/solve").text  # the list marks the silent one too
    assert listing.count("<td>failed</td>") == 2 and listing.count("<td>running</td>") == 2
    assert [state(season, j) for j in ("gone", "silent", "alive", "elsewhere")] == [
        "failed",
        "failed",
        "running",
        "running",
    ]
    assert (
        client.post(
            "/solve/jobs/gone/cancel", data={"csrf_token": token_on(client, "/")}, follow_redirects=False
        ).status_code
        == 400
    )  # not running any more


def test_a_killed_job_process_without_its_server_is_failed_and_another_solve_starts(season) -> None:
    # The job process started on its own, as after a server restart: no worker is waiting for it.
    add_job(season, "killed")
    env = {**os.environ, DATABASE_URL_ENV: season.url.render_as_string(hide_password=False)}
    process = subprocess.Popen(
        [sys.executable, "-m", "placement.web.jobs", "killed"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 120
        while (jobs._read_job(season, "killed").result or {}).get("pid") != process.pid:  # its first beat
            assert time.monotonic() < deadline and process.poll() is None, "the job process never started"
            time.sleep(0.2)
        assert state(season, "killed") == jobs.RUNNING
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait()
    client = signed_in(season, "coord")
    assert "<h1>Solve: failed" in client.get("/solve/jobs/killed").text
    started = client.post(
        "/solve",
        data={
            "csrf_token": token_on(client, "/solve"),
            "objective": "rank-sum",
            "stability": "strict",
            "decline_policy": "host",
            "engine": "auto",
            "time_limit": "600",
        },
        follow_redirects=False,
    )
    assert started.status_code == 303
    job_url = started.headers["location"].split("?")[0]
    assert (
        client.post(f"{job_url}/cancel", data={"csrf_token": token_on(client, "/")}, follow_redirects=False).status_code
        == 303
    )
