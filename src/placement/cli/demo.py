"""`placement demo`: the whole pipeline on the sample scheme, in a fresh SQLite database."""

from __future__ import annotations

import shutil
from pathlib import Path

import click

from . import cli, handle_errors, params, tables
from .tables import esc


def sample_dir() -> Path | None:
    """``fixtures/sample`` of the repository the package was installed from (editable install)."""
    for parent in Path(__file__).resolve().parents:
        candidate = parent / "fixtures" / "sample"
        if (candidate / "candidates.csv").exists():
            return candidate
    return None


@cli.command("demo")
@click.option("--dir", "workdir", type=click.Path(file_okay=False, path_type=Path), default=Path("placement-demo"),
              show_default=True, help="Folder for the demo database and reports (the demo's own files there are replaced; others are left alone).")
@click.option("--time-limit", type=params.SECONDS, default=30.0, show_default=True, help="Seconds the solver may take.")
@handle_errors
def demo_cmd(workdir: Path, time_limit: float) -> None:
    """Import the sample scheme into a fresh SQLite database, solve round 1 and write its audit report."""
    from ..db.migrate import upgrade
    from ..db.session import make_engine
    from ..ingest import import_dir
    from ..rounds import RoundOptions, solve_round
    from .solve import print_round_summary

    console = tables.console()
    workdir.mkdir(parents=True, exist_ok=True)
    db_path = workdir / "placement.db"
    # Start afresh, removing only what an earlier demo wrote here: other files in the folder are left alone.
    for old in [db_path, *(db_path.with_name(db_path.name + s) for s in ("-wal", "-shm", "-journal")),
                *workdir.glob("round-*-audit*.html")]:
        old.unlink(missing_ok=True)
    if (workdir / "scheme" / ".placement-demo").exists():
        shutil.rmtree(workdir / "scheme")
    url = f"sqlite:///{db_path}"
    engine = make_engine(url)
    upgrade(engine)
    console.print(f"[bold]1. Database[/bold]: created {esc(db_path)} (schema by migrations)")

    src = sample_dir()
    if src is None:
        from ..generate import generate_scheme

        src = workdir / "scheme"
        generate_scheme(src, candidates=60, seed=2026)
        (src / ".placement-demo").write_text("written by `placement demo`; removed by the next demo\n")
        console.print(f"[bold]2. Data[/bold]: sample fixtures not found next to the package; generated a 60-candidate scheme in {esc(src)}")
    else:
        console.print(f"[bold]2. Data[/bold]: the sample scheme in {esc(src)}")
    reports = import_dir(engine, src)
    for r in reports:
        console.print(f"   imported {r.kind:<14} {r.rows:>5} rows from {esc(Path(r.file).name)}")

    console.print("[bold]3. Solve[/bold]: round 1 as a proposal")
    result = solve_round(engine, RoundOptions(time_limit=time_limit))
    print_round_summary(result, console)

    from ..audit import write_report

    if result.round is None:
        raise click.ClickException("The sample scheme gave no round; see the summary above.")
    internal = write_report(engine, result.round, "html", workdir / f"round-{result.round}-audit-internal.html")
    public = write_report(engine, result.round, "html", workdir / f"round-{result.round}-audit-publication.html",
                          edition="publication")
    console.print(f"[bold]4. Audit[/bold]: fairness report written to {esc(internal)} "
                  f"(internal edition: exact, OFFICIAL-SENSITIVE) and {esc(public)} (publication edition)")
    console.print(
        f"\nDone. Explore it with: placement --db {esc(url)} round show {result.round}   "
        f"(or explain CANDIDATE, audit {result.round}, round approve {result.round} --by NAME)"
    )
