"""Solving a round's variants: in this process and, where the machine has the cores, in worker processes.

A variant changes only the targets and the solver's options (``variants.apply_variant``), so the round's
stored inputs, decoded once by ``totals.read_round``, are the problem of every variant: a :class:`Job` is
that problem's targets and options for one variant, and its answer the solver's
:class:`~placement.solver.Solution` — arrays, measured by the audit's code in this process (``compare``).

Worker processes are ``placement.worker.Worker`` children (the project's one way of running work in
another process, killed if it overruns) that load the solver alone — about a second of start-up on a
quiet machine, three under load — and are started before the round is read, so that start-up overlaps
the reading. Every process, this one included once the round's own audit is built, takes the next
variant from one queue: a slow variant never leaves a core idle, and on one core nothing is started.

Each variant is solved with ``keep``, the round's own placements: among equally good answers the one
with fewest changes from the round (``solver.ties``; the round's answer itself when it is still optimal),
so the candidates a variant moves are moves the change needs.
"""

from __future__ import annotations

import contextlib
import os
import queue
import signal
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, TypeVar

import numpy as np

from ..errors import RoundError
from ..solver.problem import Options, Problem, Solution, Target

if TYPE_CHECKING:
    from ..worker import Worker

T = TypeVar("T")
# What a worker imports before its first variant: the solver (this module imports it).
PRELOAD = ("placement.scenario.solving", "placement.solver")


@dataclass(frozen=True)
class Job:
    """One variant to solve: the round's problem with these targets, under these options (plain data)."""

    index: int
    targets: tuple[Target, ...]
    options: Options
    keep: np.ndarray | None  # the round's placements as pair indices (None: the variant sets its tie-break)


@dataclass(frozen=True)
class Answer:
    index: int
    solution: Solution
    seconds: float  # wall time of the solve, in whichever process solved it


def solve_job(problem: Problem, job: Job) -> Answer:
    """Solve one variant of ``problem`` (in this process or a worker's)."""
    from ..solver import solve

    started = time.perf_counter()
    solution = solve(replace(problem, targets=job.targets), job.options, keep=job.keep)
    return Answer(job.index, solution, time.perf_counter() - started)


def ready() -> None:
    """Nothing: the first call a worker is given, so that it starts (and loads the solver) at once."""


def processes(jobs: int, workers: int | None) -> int:
    """How many processes solve ``jobs`` variants, this one included: one per core (or as asked), at most one per variant."""
    return max(1, min(jobs, workers if workers is not None else (os.cpu_count() or 1)))


class Solvers:
    """This process and ``extra`` worker processes, sharing one queue of variants.

    Use as a context manager: the workers start on entering (before the round is read) and are stopped
    on leaving, whatever happened. :meth:`submit` hands them the work; :meth:`finish` solves in this
    process what is left and measures every answer as it arrives.
    """

    def __init__(self, extra: int):
        from ..worker import Worker

        self._workers = [Worker("scenario variants", preload=PRELOAD) for _ in range(extra)]
        self._todo: deque[Job] = deque()
        self._lock = threading.Lock()
        self._submitted = threading.Event()
        self._done: queue.Queue[Answer | BaseException] = queue.Queue()  # answers (or failures) as they come
        self._problem: Problem | None = None
        self._limit = 0.0
        self._n_jobs = 0
        self._finished = False
        self._threads = [
            threading.Thread(target=self._feed, args=(worker,), name="scenario-feed", daemon=True)
            for worker in self._workers
        ]
        for thread in self._threads:
            thread.start()

    def __enter__(self) -> Solvers:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Stop every worker. Unless :meth:`finish` returned, a variant still being solved is abandoned at once
        (interrupted, or an error here): its worker is killed."""
        with self._lock:
            self._todo.clear()
        self._submitted.set()
        if not self._finished:
            for worker in self._workers:
                if (pid := worker.pid) is not None:
                    with contextlib.suppress(ProcessLookupError):
                        os.kill(pid, signal.SIGKILL)  # our own child, by its id: its call ends at once
        for thread in self._threads:
            thread.join()
        for worker in self._workers:
            worker.close()

    def submit(self, problem: Problem, jobs: list[Job], limit: float) -> None:
        """Queue ``jobs``; the workers start on them at once. A worker still on one variant after ``limit``
        seconds is stopped (and :meth:`finish` says so)."""
        self._problem, self._limit, self._n_jobs = problem, limit, len(jobs)
        with self._lock:
            self._todo.extend(jobs)
        self._submitted.set()

    def finish(self, measure: Callable[[Answer], T]) -> list[T]:
        """Solve in this process whatever is still queued, and ``measure`` every answer (this process's and
        the workers') as it arrives; the measures in the order of the jobs. A worker's failure is raised."""
        assert self._problem is not None, "submit() first"
        measured: dict[int, T] = {}
        while len(measured) < self._n_jobs:
            job = self._next()
            if job is not None:
                self._done.put(solve_job(self._problem, job))
            wait = job is None  # nothing left to take: wait for the workers' answers
            while True:
                try:
                    item = self._done.get(block=wait)
                except queue.Empty:
                    break
                if isinstance(item, BaseException):
                    raise item
                measured[item.index] = measure(item)
                wait = False
        self._finished = True
        return [measured[i] for i in sorted(measured)]

    def _next(self) -> Job | None:
        with self._lock:
            return self._todo.popleft() if self._todo else None

    def _feed(self, worker: Worker) -> None:
        """One worker's thread: start it, then hand it variants until none is left."""
        from ..worker import TIMED_OUT, WorkerError, WorkerStartError

        try:
            worker.call(ready)  # starts the process (it loads the solver) while the round is read
        except WorkerStartError:
            return  # no process can be started here: this one solves the variants, as on one core
        try:
            self._submitted.wait()
            while (job := self._next()) is not None:
                answer = worker.call(solve_job, (self._problem, job), timeout=self._limit)
                if answer is TIMED_OUT:
                    self._done.put(
                        RoundError(
                            f"A variant took longer than {self._limit:.0f} s (its time limit × 1.5 + 30 s) and was stopped.",
                            "Compare fewer variants at a time, or lower the round's time limit.",
                        )
                    )
                    return
                self._done.put(answer)
        except WorkerError as exc:
            self._done.put(
                RoundError(
                    f"A worker solving the variants failed: {exc}.",
                    "Run the comparison again with --workers 1 to see the error in full.",
                )
            )
        except BaseException as exc:  # noqa: BLE001  the solver's own error (a PlacementError): raised by finish()
            self._done.put(exc)
