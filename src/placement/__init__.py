"""placement: optimal, explainable, auditable placement matching for graduate schemes."""

__version__ = "0.1.0"
