"""Helpers shared by the ingestion tests: a small valid scheme as CSV files, and a database dump.

(Named test_* so that it sits with the files it serves; it holds no tests.)
"""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

from sqlalchemy import Engine, select

from placement.db.migrate import upgrade
from placement.db.models import Base
from placement.db.session import make_engine

CANDIDATE_HEADER = [
    "candidate_id",
    "given_name",
    "family_name",
    "email",
    "assessment_score",
    "specialisms",
    "home_region",
    "willing_to_relocate",
    "sex",
    "ethnic_category",
    "disability",
    "career_changer",
    "linked_with",
]
HOST_HEADER = ["host_id", "name", "org_type", "region", "capacity", "specialisms", "min_score", "min_placements"]
TARGET_HEADER = ["name", "scope", "attribute", "value", "min_share", "max_share", "strength", "weight"]


def candidate(cid: str, **over: str) -> dict[str, str]:
    row = {
        "candidate_id": cid,
        "given_name": f"Given {cid}",
        "family_name": f"Family {cid}",
        "email": f"{cid.lower()}@example.org",
        "assessment_score": "70",
        "specialisms": "data;digital",
        "home_region": "London",
        "willing_to_relocate": "yes",
        "sex": "female",
        "ethnic_category": "A",
        "disability": "no",
        "career_changer": "no",
        "linked_with": "",
    }
    row.update(over)
    return row


def host(hid: str, **over: str) -> dict[str, str]:
    row = {
        "host_id": hid,
        "name": f"Trust {hid}",
        "org_type": "acute",
        "region": "London",
        "capacity": "2",
        "specialisms": "data;digital;technology",
        "min_score": "",
        "min_placements": "",
    }
    row.update(over)
    return row


def target(name: str, **over: str) -> dict[str, str]:
    row = {
        "name": name,
        "scope": "cohort",
        "attribute": "sex",
        "value": "female",
        "min_share": "0.4",
        "max_share": "",
        "strength": "soft",
        "weight": "5",
    }
    row.update(over)
    return row


def write_csv(
    path: Path,
    rows: list[dict[str, str]] | list[list[str]],
    header: list[str] | None = None,
    encoding: str = "utf-8",
    newline: str = "\n",
) -> Path:
    """Write rows (dicts, or lists under ``header``) as CSV."""
    with path.open("w", encoding=encoding, newline="") as fh:
        out = csv.writer(fh, lineterminator=newline)
        if rows and isinstance(rows[0], dict):
            header = header or list(rows[0])
            out.writerow(header)
            out.writerows([[r.get(h, "") for h in header] for r in rows])  # type: ignore[union-attr]
        else:
            if header:
                out.writerow(header)
            out.writerows(rows)
    return path


def candidates_rows() -> list[dict[str, str]]:
    return [
        candidate("C1", linked_with="C2"),
        candidate("C2", linked_with="C1", sex="male", ethnic_category="H", disability="not_stated"),
        candidate(
            "C3",
            home_region="North West",
            willing_to_relocate="no",
            specialisms="technology",
            assessment_score="55.5",
            ethnic_category="",
            sex="",
            disability="",
            career_changer="",
        ),
        candidate("C4", assessment_score="91"),
    ]


def hosts_rows() -> list[dict[str, str]]:
    return [
        host("H1", min_score="60", min_placements="1"),
        host("H2", region="North West", org_type="ics"),
        host("H3", capacity="1", specialisms="data"),
    ]


def preference_rows() -> list[list[str]]:
    return [
        ["C1", "H1", "1"],
        ["C1", "H2", "2"],
        ["C2", "H1", "1"],
        ["C3", "H2", "1"],
        ["C4", "H1", "1"],
        ["C4", "H3", "3"],
    ]


def write_scheme(directory: Path) -> Path:
    """A small valid scheme with every file kind."""
    directory.mkdir(parents=True, exist_ok=True)
    write_csv(directory / "candidates.csv", candidates_rows())
    write_csv(directory / "hosts.csv", hosts_rows())
    write_csv(directory / "preferences.csv", preference_rows(), ["candidate_id", "host_id", "rank"])
    write_csv(
        directory / "host_rankings.csv",
        [["H1", "C4", "1"], ["H1", "C1", "2"], ["H1", "C2", "2"]],
        ["host_id", "candidate_id", "rank"],
    )
    write_csv(
        directory / "targets.csv",
        [
            target("women"),
            target(
                "no-quota",
                attribute="career_changer",
                value="yes",
                strength="hard",
                weight="",
                min_share="",
                max_share="0.9",
                scope="region=*",
            ),
        ],
    )
    write_csv(
        directory / "pairs.csv",
        [["C3", "H2", "require", "pre-agreed"], ["C4", "H3", "forbid", "employer"]],
        ["candidate_id", "host_id", "rule", "reason"],
    )
    return directory


def migrated(url: str) -> Engine:
    engine = make_engine(url)
    upgrade(engine)
    return engine


def sqlite_copy(template: Path, directory: Path) -> Engine:
    """A private copy of a prepared SQLite database (migrating afresh per test is slow)."""
    target = directory / "placement.db"
    shutil.copyfile(template, target)
    return make_engine(f"sqlite:///{target}")


def make_template(directory: Path, *, with_scheme: bool) -> Path:
    """A migrated SQLite file, optionally holding the small scheme, for :func:`sqlite_copy`."""
    from placement.ingest import import_dir

    path = directory / "template.db"
    engine = migrated(f"sqlite:///{path}")
    if with_scheme:
        import_dir(engine, write_scheme(directory / "scheme"))
    engine.dispose()
    return path


def dump(engine: Engine) -> dict[str, list[tuple]]:
    """Every row of every table of the scheme, sorted: equal dumps mean an unchanged database. The web
    console's own tables (accounts, sessions, jobs: ``web_*``) are not the scheme and are left out."""
    with engine.connect() as conn:
        return {
            name: sorted((tuple(map(repr, row)) for row in conn.execute(select(table))), key=str)
            for name, table in Base.metadata.tables.items()
            if not name.startswith("web_")
        }


def counts(engine: Engine) -> dict[str, int]:
    return {name: len(rows) for name, rows in dump(engine).items()}
