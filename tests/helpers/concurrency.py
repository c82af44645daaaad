"""Races: commands released at the same moment, and the candidates header their files share."""

from __future__ import annotations

import threading

CAND_HEADER = (
    "candidate_id,given_name,family_name,email,assessment_score,specialisms,home_region,willing_to_relocate,"
    "sex,ethnic_category,disability,career_changer,linked_with\n"
)


def run_together(*jobs):
    """Run the jobs in threads released at the same moment; return each one's result or exception."""
    barrier = threading.Barrier(len(jobs))
    outcomes: list[object] = [None] * len(jobs)

    def work(i, job):
        barrier.wait()
        try:
            outcomes[i] = job()
        except BaseException as exc:  # noqa: BLE001 - the test inspects it
            outcomes[i] = exc

    threads = [threading.Thread(target=work, args=(i, job)) for i, job in enumerate(jobs)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not any(t.is_alive() for t in threads), "a command hung"
    return outcomes
