"""The wheel carries everything an installed placement needs: the migrations above all.

``migrations/`` sits at the repository root (the source of the Alembic chain);
the build maps it into the package as ``placement.migrations`` (setup.py), so
``pip install placement-*.whl`` can create and upgrade a database. `.ci/run`
goes further: it installs the wheel in a fresh venv and runs `placement demo`.
"""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_the_wheel_ships_every_migration_and_the_report_templates(tmp_path):
    built = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(tmp_path), str(REPO)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert built.returncode == 0, built.stderr[-2000:]
    (wheel,) = tmp_path.glob("placement-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    assert {"placement/migrations/env.py", "placement/migrations/script.py.mako"} <= names
    for script in (REPO / "migrations" / "versions").glob("*.py"):
        assert f"placement/migrations/versions/{script.name}" in names
    assert "placement/audit/templates/report.html" in names
    # The web console's pages and its stylesheet (placement serve).
    web = REPO / "src" / "placement" / "web"
    for shipped in [*(web / "templates").glob("*.html"), *(web / "static").iterdir()]:
        assert f"placement/web/{shipped.relative_to(web)}" in names


def test_the_installed_package_finds_its_migrations():
    from placement.db.migrate import head_revision, migrations_dir

    assert (migrations_dir() / "env.py").exists()
    assert head_revision() is not None
