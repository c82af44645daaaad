"""placement's benchmarks and the independent reference solvers its tests rely on.

Run ``python -m benchmarks`` (see benchmarks/README.md). Nothing is imported
here on purpose: the HiGHS worker imports this package and must not load
OR-Tools (see benchmarks/_highs.py).
"""
