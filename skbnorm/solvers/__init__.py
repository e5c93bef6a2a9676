"""Solvers: one module per solver, each a thin Python driver around a kernel."""

import numpy as np

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


def build(solver, problem, direction, scale, intercept, *, learning_rate="auto",
          learning_rate_scale="auto", n_bisection=30, direction_step="paper"):
    """The driver of ``solver`` started at ``w~ = scale * direction``.

    ``direction`` must have ``||direction||_S = 1`` (as
    :meth:`Problem.random_direction` returns), so every solver starts from
    the same coefficients; ``intercept`` is in centered coordinates.
    """
    if solver in ("gd", "agd"):
        return SOLVERS[solver](problem, scale * direction, intercept,
                               learning_rate)
    if solver in ("bn", "wn"):
        if solver == "wn":
            # the same w~: the WN scale is ||w~||_2 for this direction
            scale = scale * float(np.linalg.norm(direction))
        return SOLVERS[solver](problem, direction, scale, intercept,
                               learning_rate, learning_rate_scale)
    return SOLVERS[solver](problem, direction, scale, intercept, learning_rate,
                           n_bisection, direction_step)

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
    "build",
]
