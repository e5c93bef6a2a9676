"""Solvers: one module per solver, each a :class:`~._base.Solver` in a registry.

The estimator looks a solver up by name (:func:`make_solver`) and drives it
through :class:`~._base.Solver`'s methods without knowing which one it holds.
"""

from . import _bn, _gd, _gdnp  # noqa: F401  (register the solvers)
from ._base import (
    MAX_SCALE,
    Problem,
    Solver,
    SolverOptions,
    Status,
    make_solver,
    register,
    solver_names,
)

__all__ = [
    "MAX_SCALE",
    "Problem",
    "Solver",
    "SolverOptions",
    "Status",
    "make_solver",
    "register",
    "solver_names",
]
