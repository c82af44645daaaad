"""OR-Tools' CP-SAT module, imported on first use.

``ortools.sat.python.cp_model`` imports pandas and its own protobuf and C++
helpers: about 0.4–0.8 s of what ``import placement.solver`` takes (more on
a loaded machine), paid by every worker process and every command that
imports the solver, though a solve on the network route, or by HiGHS, never
builds a CP-SAT model. ``cp_model`` here stands for the module and imports
it when an attribute is first read (``cp_model.CpModel()``), so only the
routes that use CP-SAT (stability, the diagnosis, ``--engine cp-sat``) pay.

Not ``importlib.util.LazyLoader``: before Python 3.12 it is not safe when two
threads touch the module first at once (the web console runs library calls
in threads); ``importlib.import_module`` holds the import system's own lock.
"""

from __future__ import annotations

import importlib
from types import ModuleType
from typing import TYPE_CHECKING, Any

_NAME = "ortools.sat.python.cp_model"


class _OnFirstUse:
    """Stands for a module; imports it at the first attribute read and forwards every read to it."""

    def __init__(self, name: str) -> None:
        self._name = name
        self._module: ModuleType | None = None

    def __getattr__(self, attr: str) -> Any:
        module = self._module
        if module is None:
            module = self._module = importlib.import_module(self._name)
        return getattr(module, attr)


if TYPE_CHECKING:
    from ortools.sat.python import cp_model
else:
    cp_model = _OnFirstUse(_NAME)

__all__ = ["cp_model"]
