"""Solvers: one module per solver, each a thin Python driver around a kernel."""

from ._bn import BNSolver, WNSolver
from ._common import (
    CONVERGED,
    DIVERGED,
    MAX_ITER,
    MAX_SCALE,
    RUNNING,
    SCALE_CAP,
    STALLED,
    STOPPED,
    Problem,
)
from ._gd import AGDSolver, GDSolver
from ._gdnp import GDNPSolver

SOLVERS = {
    "gd": GDSolver,
    "agd": AGDSolver,
    "bn": BNSolver,
    "wn": WNSolver,
    "gdnp": GDNPSolver,
}

__all__ = [
    "CONVERGED",
    "DIVERGED",
    "MAX_ITER",
    "MAX_SCALE",
    "RUNNING",
    "SCALE_CAP",
    "SOLVERS",
    "STALLED",
    "STOPPED",
    "Problem",
]
