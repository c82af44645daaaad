"""The hard time cap on HiGHS: big models run in the persistent worker, killed at the limit plus GRACE.

The worker is a real process (``placement.worker``) in every test here; the
sleeper and the raiser stand in for HiGHS, so the kill is checked without
depending on how fast HiGHS is on this machine, and without timing anything.
"""

from __future__ import annotations

import functools
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from placement.solver import Options, mip, solve
from placement.worker import Worker
from tests.helpers import sleepers
from tests.helpers.oracles import whole_model_spec as _spec
from tests.helpers.strategies import realistic_problem


def _gone(pid: int) -> bool:
    """No such process, not even a zombie."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return True
    return state == "X"


def test_child_past_its_limit_is_killed_and_reaped(tmp_path, monkeypatch):
    pid_file = tmp_path / "pid"
    mip._worker.call(sleepers.pid)  # started beforehand (on a loaded machine start-up alone can take seconds)
    monkeypatch.setattr(mip, "_run_milp", functools.partial(sleepers.sleepy, str(pid_file)))
    # The sleeper would run 120 s; the worker is killed at the limit plus GRACE and the answer is UNKNOWN.
    res = mip.solve_highs(_spec(realistic_problem(40, seed=1)), 1.0, subprocess_nnz=0)
    assert res.status == "UNKNOWN" and res.x is None and res.bound is None
    assert res.engine == "highs"
    assert pid_file.exists(), "the sleeper never ran in the worker"
    pid = int(pid_file.read_text())
    assert pid != os.getpid()
    if Path("/proc").is_dir():
        assert _gone(pid)  # killed and reaped: no zombie
    assert mip._worker.pid is None  # and not left running


def test_the_worker_is_started_afresh_after_a_kill(tmp_path, monkeypatch):
    spec = _spec(realistic_problem(40, seed=1))
    first = mip._worker.call(sleepers.pid)
    assert mip._worker.call(sleepers.pid) == first  # one persistent process
    monkeypatch.setattr(mip, "_run_milp", functools.partial(sleepers.sleepy, str(tmp_path / "pid")))
    assert mip.solve_highs(spec, 0.5, subprocess_nnz=0).status == "UNKNOWN"
    monkeypatch.undo()
    assert mip._worker.pid is None
    assert mip._worker.call(sleepers.pid) not in (None, first)  # a fresh process
    assert mip.solve_highs(spec, 10.0, subprocess_nnz=0).status == "OPTIMAL"


def test_subprocess_path_gives_the_in_process_answer(monkeypatch):
    problem = realistic_problem(300, seed=3)
    children = []
    real_in_child = mip._in_child

    def counted(*args):
        out = real_in_child(*args)
        children.append(out is not mip._NO_CHILD)
        return out

    monkeypatch.setattr(mip, "_in_child", counted)
    monkeypatch.setattr(mip, "SUBPROCESS_NNZ", 10**12)
    here = solve(problem, Options(), engine="auto", force_exact=True)
    assert children == []
    monkeypatch.setattr(mip, "SUBPROCESS_NNZ", 0)
    mip._worker.call(sleepers.pid)  # up before the solve's clock starts
    there = solve(problem, Options(), engine="auto", force_exact=True)
    assert children and all(children), "no model went through a child"
    assert here.status == there.status == "OPTIMAL"
    assert here.objective == there.objective
    assert here.bound == there.bound
    assert np.array_equal(here.chosen, there.chosen)


def test_infeasible_through_the_subprocess():
    problem = realistic_problem(60, seed=2)
    spec = _spec(problem, placed=problem.n_candidates + 1)  # more placed than there are candidates
    there = mip.solve_highs(spec, 10.0, subprocess_nnz=0)
    here = mip.solve_highs(spec, 10.0, subprocess_nnz=10**12)
    assert there.status == here.status == "INFEASIBLE"
    assert there.x is None


def test_feasible_model_same_in_child_and_in_process():
    spec = _spec(realistic_problem(60, seed=2))
    there = mip.solve_highs(spec, 10.0, subprocess_nnz=0)
    here = mip.solve_highs(spec, 10.0, subprocess_nnz=10**12)
    assert there.status == here.status == "OPTIMAL"
    assert there.value == here.value
    assert np.array_equal(there.x, here.x)


def test_an_error_in_the_child_is_raised_in_the_parent(monkeypatch):
    monkeypatch.setattr(mip, "_run_milp", sleepers.raises)
    with pytest.raises(ValueError, match="bad model"):
        mip.solve_highs(_spec(realistic_problem(40, seed=1)), 5.0, subprocess_nnz=0)
    assert mip._worker.pid is not None  # an error is an answer: the worker serves on


def test_no_child_process_falls_back_to_in_process(monkeypatch):
    spec = _spec(realistic_problem(40, seed=1))
    expected = mip.solve_highs(spec, 10.0, subprocess_nnz=10**12)

    worker = Worker("no-processes")

    def no_processes():
        raise OSError("no processes may be started here")

    monkeypatch.setattr(worker, "_spawn", no_processes)
    monkeypatch.setattr(mip, "_worker", worker)
    got = mip.solve_highs(spec, 10.0, subprocess_nnz=0)
    assert got.status == expected.status == "OPTIMAL"
    assert got.value == expected.value


UNGUARDED = """
    import sys
    print("top level ran", flush=True)
    from placement.solver import mip
    from tests.helpers.oracles import whole_model_spec as _spec
    from tests.helpers.strategies import realistic_problem

    model, _ = mip.build(_spec(realistic_problem(40, seed=1)))
    out = mip._in_child(model, 10.0, False)
    print("child", out[0] if isinstance(out, tuple) else out, flush=True)
"""


def test_a_script_without_main_guard_is_not_rerun_in_the_child(tmp_path):
    """The worker is ``python -m placement.worker``: it never runs the caller's main script."""
    script = tmp_path / "unguarded.py"
    script.write_text(textwrap.dedent(UNGUARDED))
    repo = Path(__file__).resolve().parents[1]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(repo), str(repo / "src")])}
    env.pop("PLACEMENT_HIGHS_LOG", None)
    done = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, timeout=120, env=env, cwd=tmp_path
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == ["top level ran", "child 0"]
