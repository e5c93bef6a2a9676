r"""Curvature metrics: the Hessian of the objective, formed and factored.

Batch Normalization divides each unit by its own standard deviation: a
diagonal change of metric. Taken to its end, the metric is the whole of the
curvature,

.. math::

    M = X_c^\top \operatorname{diag}(h) X_c + \alpha I, \qquad
    h_i = s_i\, l''(x_{ci}^\top \tilde w + b, y_i),

bordered by the intercept's row (``X_c^T h``, ``sum h``). At the start of a
fit (``w~ = 0``, ``b`` the prior's logit) every ``h_i`` is the same, so the
first metric is ``l'' S + alpha I``: full (decorrelating) BN, the ``S``
metric of the gdnp family. Refreshed at later iterates it is Newton's.

For the sigmoid loss ``l''`` changes sign and vanishes at the margin 0 (at
the start of every fit): its metric takes the logistic loss's curvature at
the same margins instead, ``h_i = s_i sigma(t_i) sigma(-t_i)``, which is
``|l'|`` of the sigmoid, positive, and largest where the sigmoid moves.

A singular ``M`` (``alpha = 0`` with constant or collinear columns) is
inverted on its range only, so that directions, and the iterates built from
them, stay in the range of ``S``: the minimum-norm solution, as
scikit-learn's ``LinearRegression`` returns.
"""

import numpy as np
import scipy.linalg as sla

#: eigenvalues below this fraction of the largest are treated as zero when
#: ``M`` is singular (numpy.linalg.lstsq's rcond for float64)
RCOND = 1e-12


def curvature_weights(problem, r, r2):
    """The per-row weights ``h`` of the metric: ``s l''`` (convex losses), or
    ``|s l'|`` for the sigmoid (see the module docstring)."""
    return r2 if problem.convex else np.abs(r)


class Factor:
    """A factored symmetric positive semi-definite matrix: solves and norms."""

    def __init__(self, M):
        self.m = M.shape[0]
        self.cho = None
        self.eig = None
        self.empty = False
        try:
            self.cho = sla.cho_factor(M, lower=False, check_finite=False)
            # a factor with a vanishing pivot is singular in all but name
            diag = np.abs(np.diag(self.cho[0]))
            if not (np.all(np.isfinite(diag))
                    and diag.min() > 1e-7 * max(diag.max(), 1e-300)):
                self.cho = None
        except (sla.LinAlgError, ValueError):
            self.cho = None
        if self.cho is None:
            vals, vecs = np.linalg.eigh(M)
            top = max(vals[-1], 0.0)
            keep = vals > RCOND * top if top > 0 else np.zeros(vals.shape, bool)
            self.eig = (vals[keep], vecs[:, keep])
            self.empty = not keep.any()

    def solve(self, g):
        """``M^+ g`` (``M^{-1} g`` when ``M`` is positive definite)."""
        if self.cho is not None:
            return sla.cho_solve(self.cho, g, check_finite=False)
        vals, vecs = self.eig
        return vecs @ ((vecs.T @ g) / vals)


def hessian(problem, h):
    """The metric ``M`` of per-row weights ``h >= 0`` (:func:`curvature_weights`)."""
    p = problem
    M = p.design.hessian(h, p.fit_intercept)
    d = p.n_features
    M[np.arange(d), np.arange(d)] += p.alpha
    return M


#: a dense metric costs d^2 floats and d^3/3 flops to factor; beyond this
#: many features the metric falls back to its diagonal
MAX_METRIC_FEATURES = 2048


def newton_decrement(problem, G, gb, factor):
    """``1/2 [G; gb]^T M^+ [G; gb]``: Newton's estimate of ``F - F*``."""
    g = np.append(G, gb) if problem.fit_intercept else G
    if factor.empty:
        # no curvature at all: the decrement says nothing
        return 0.0 if not np.any(g) else np.inf
    return 0.5 * float(g @ factor.solve(g))
