"""Packaging hook (everything else is in pyproject.toml): ship the Alembic migrations inside the package.

``migrations/`` at the repository root stays the source of the migration
chain (where ``alembic revision`` writes); the build maps it into the wheel as
``placement.migrations`` so an installed placement can create and upgrade a
database. pyproject.toml cannot combine package discovery with such a
mapping, hence this file.
"""

from setuptools import find_packages, setup

setup(
    packages=[*find_packages("src"), "placement.migrations", "placement.migrations.versions"],
    package_dir={"": "src", "placement.migrations": "migrations", "placement.migrations.versions": "migrations/versions"},
)
