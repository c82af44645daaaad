"""The hard time cap on HiGHS: big models run in a child process killed at the limit plus GRACE.

The child is a real process (forkserver) in every test here; the sleeper and
the raiser stand in for HiGHS, so the kill is checked without depending on
how fast HiGHS is on this machine.
"""

from __future__ import annotations

import functools
import multiprocessing
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest
from tests.helpers.oracles import whole_model_spec as _spec
from tests.helpers.strategies import realistic_problem

from placement.solver import Options, mip, solve


def _sleepy(pid_file: str, model, time_limit, disp):
    """Stands in for HiGHS deep in a presolve that never looks at its clock."""
    Path(pid_file).write_text(str(os.getpid()))
    time.sleep(120)
    return 0, None, None, None


def _raises(model, time_limit, disp):
    raise ValueError("bad model")


def _gone(pid: int) -> bool:
    """No such process, not even a zombie."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return True
    return state == "X"


def test_child_past_its_limit_is_killed_and_reaped(tmp_path, monkeypatch):
    pid_file = tmp_path / "pid"
    monkeypatch.setattr(mip, "_run_milp", functools.partial(_sleepy, str(pid_file)))
    limit = 1.0
    t0 = time.monotonic()
    res = mip.solve_highs(_spec(realistic_problem(40, seed=1)), limit, subprocess_nnz=0)
    elapsed = time.monotonic() - t0
    assert res.status == "UNKNOWN" and res.x is None and res.bound is None
    assert res.engine == "highs"
    # The sleeper would have run 120 s; the cap stops it at limit + GRACE (the first child also
    # starts the forkserver, about a second).
    assert elapsed < limit + mip.GRACE + 5
    assert elapsed >= limit
    assert pid_file.exists(), "the sleeper never ran in a child"
    pid = int(pid_file.read_text())
    assert pid != os.getpid()
    if Path("/proc").is_dir():
        assert _gone(pid)
    assert multiprocessing.active_children() == []


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
    there = solve(problem, Options(), engine="auto", force_exact=True)
    assert children and all(children), "no model went through a child"
    assert here.status == there.status == "OPTIMAL"
    assert here.objective == there.objective
    assert here.bound == there.bound
    assert np.array_equal(here.chosen, there.chosen)
    assert multiprocessing.active_children() == []


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
    monkeypatch.setattr(mip, "_run_milp", _raises)
    with pytest.raises(ValueError, match="bad model"):
        mip.solve_highs(_spec(realistic_problem(40, seed=1)), 5.0, subprocess_nnz=0)
    assert multiprocessing.active_children() == []


def test_no_child_process_falls_back_to_in_process(monkeypatch):
    spec = _spec(realistic_problem(40, seed=1))
    expected = mip.solve_highs(spec, 10.0, subprocess_nnz=10**12)

    monkeypatch.setattr(mip, "_Process", None)  # as on a platform without the forkserver
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
    """Spawned and forkserver children re-run the parent's main script unless told not to."""
    script = tmp_path / "unguarded.py"
    script.write_text(textwrap.dedent(UNGUARDED))
    repo = Path(__file__).resolve().parents[1]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(repo), str(repo / "src")])}
    env.pop("PLACEMENT_HIGHS_LOG", None)
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=120, env=env,
                          cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == ["top level ran", "child 0"]
