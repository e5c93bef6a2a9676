r"""When a fit stops: its objective is within ``tol`` (relative) of the optimum.

Every solver stops when the estimated relative suboptimality
``(F - F*) / |F|`` of its iterate is at most ``tol``. The estimate is
Newton's decrement

.. math::

    \delta = \tfrac12\, \nabla F^\top M^{+} \nabla F,

with ``M`` the Hessian at the iterate (in ``(w~, b)``, see
:mod:`._metric`): exact for least squares, whose objective is quadratic,
and asymptotically exact for the logistic loss (``F - F* = delta (1 +
O(sqrt(delta)))``). The default solver refreshes that Hessian itself and
passes its decrement; for the others the rule forms it only when it could
matter. Every ``L``-smooth function has ``F - F* >= ||grad F||^2 / (2 L)``,
so while that lower bound exceeds ``tol |F|`` no Hessian is formed; after a
check that fails by a factor ``q`` the next one waits until the lower bound
has fallen by ``q`` too (both fall at the same rate near the optimum), so a
fit pays for a handful of checks at most.

With more than :data:`~._metric.MAX_METRIC_FEATURES` features the Hessian's
diagonal stands in for it. A ``tol`` of 0 stops only at a zero gradient.

The relative suboptimality is taken against ``max(|F|, FLOOR F_null)``,
``F_null`` the objective of the null model (``w~ = 0``, ``b = 0``: half the
mean square of ``y`` for least squares, about its mean when the intercept
is fit; ``log 2`` for the logistic loss):
where the optimum is 0 (least squares that interpolate) ``(F - F*)/|F|`` is
about 1 at every iterate, and the fit is done once ``F`` is at the rounding
level of the data's scale.
"""

import math

import numpy as np

from ..objectives._losses import SOFTPLUS, SQUARED
from ._metric import (
    MAX_METRIC_FEATURES,
    curvature_weights,
    hessian,
    metric_factor,
    newton_decrement,
)

#: the smallest objective, relative to the start's, that ``tol`` is relative to
FLOOR = 1e-16


class StoppingRule:
    """The shared stopping test of :class:`~._base.Problem`'s solvers."""

    def __init__(self, problem):
        self.problem = problem
        self._next_lower = None
        self.decrement = np.nan
        self.f_null = None

    def scale(self, f):
        """What the suboptimality is relative to: ``max(|f|, FLOOR F_null)``."""
        if self.f_null is None:
            p = self.problem
            if p.code == SQUARED:
                # with an intercept the null model predicts the mean: an
                # offset of y (1e9 + O(1)) must not count as the data's scale,
                # which made a fit of F = 0.02 stop at F's 1e-16 * 5e17
                y = p.y - float(p.s @ p.y) if p.fit_intercept else p.y
                self.f_null = 0.5 * float(p.s @ (y * y))
            elif p.code == SOFTPLUS:
                self.f_null = math.log(2.0)
            else:
                self.f_null = 0.5
        return max(abs(f), FLOOR * self.f_null, 1e-300)

    def relative(self, f):
        """The last decrement relative to :meth:`scale` (NaN if none)."""
        return self.decrement / self.scale(f)

    def lower_bound(self, G, gb):
        """``||grad F||^2 / (2 L)``, or None when ``L`` is not known."""
        p = self.problem
        if p._lipschitz is None:
            return None
        lip = max(p.lipschitz_coef, p.curvature if p.fit_intercept else 0.0)
        if not lip > 0:
            return None
        gsq = float(G @ G) + (gb * gb if p.fit_intercept else 0.0)
        return gsq / (2.0 * lip)

    def converged(self, f, G, gb, margins, decrement=None, not_yet=False):
        """Whether the iterate with objective ``f`` and gradient ``(G, gb)`` is done.

        ``margins`` is a callable returning the iterate's margins
        ``X_c w~ + b`` (called only when a Hessian is formed);
        ``decrement`` is the solver's own Newton decrement, when it has one;
        ``not_yet`` says that the solver has no estimate yet, or that its
        own puts the iterate above ``tol``: only a zero gradient stops it,
        and no Hessian is formed.
        """
        p = self.problem
        tol = p.tol
        scale = self.scale(f)
        gsq = float(G @ G) + (gb * gb if p.fit_intercept else 0.0)
        if gsq == 0.0:
            self.decrement = 0.0
            return True
        if not tol > 0.0 or not_yet:
            return False
        target = tol * scale
        if decrement is not None:
            self.decrement = decrement
            return decrement <= target
        lower = self.lower_bound(G, gb)
        if lower is not None and lower > target:
            return False
        if (self._next_lower is not None and lower is not None
                and lower > self._next_lower):
            return False
        dec = self.estimate(G, gb, margins())
        self.decrement = dec
        if dec <= target:
            return True
        if lower is not None:
            self._next_lower = lower * target / dec
        return False

    def estimate(self, G, gb, m):
        """Newton's decrement at the iterate of margins ``m``."""
        p = self.problem
        r = p.design.empty_rows()
        r2 = p.design.empty_rows()
        p.design.margin_pass(p.code, m, 1.0, 0.0, p.y, p.s, r, r2)
        h = curvature_weights(p, r, r2)
        if p.n_features <= MAX_METRIC_FEATURES:
            return newton_decrement(p, G, gb, metric_factor(p, hessian(p, h)))
        # the diagonal of the Hessian: BN's own per-unit metric (the default
        # solver's metric above MAX_METRIC_FEATURES, with its null test;
        # imported here, as _subspace imports this module through _base)
        from ._subspace import DiagonalFactor

        return newton_decrement(p, G, gb, DiagonalFactor(p, h))
