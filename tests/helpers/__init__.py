"""Builders and independent checks shared by the tests (no tests here).

``strategies``: random problems for the solver tests; ``oracles``: brute-force
and literal readings of the spec to compare the solver with; ``dbseed``,
``ingest``, ``audit``, ``rounds``: databases and files to run commands on.
"""
