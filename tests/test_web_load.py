"""The load benchmark's short version (the full one is `python -m benchmarks.web_load`, results in
benchmarks/results/web-load-20000.md): a few sessions walk every page for a few seconds against `placement
serve` on 127.0.0.1 while a solve runs; every request must answer 200. Timings are printed, not asserted
(speed is the benchmark's business, on an idle machine)."""

from __future__ import annotations

import pytest

from benchmarks.web_load import main


@pytest.mark.slow
def test_short_load_run_answers_every_request(tmp_path, capsys) -> None:
    code = main(
        [
            "--candidates",
            "400",
            "--sessions",
            "4",
            "--seconds",
            "8",
            "--workers",
            "1",
            "--solve-seconds",
            "20",
            "--workdir",
            str(tmp_path),
            "--no-write",
        ]
    )
    out = capsys.readouterr().out
    assert code == 0, out
    assert "0 errors" in out and "| candidate |" in out and "| round by host |" in out and "| host |" in out
