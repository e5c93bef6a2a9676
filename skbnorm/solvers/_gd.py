r"""Gradient descent (``gd``) and Nesterov's accelerated gradient (``agd``).

Both act on the coefficients ``w~`` and the intercept ``b`` directly, with a
block-diagonal step: ``step_w`` on ``w~`` (``1/L_f`` by default,
``L_f = sup|l''| lambda_max(S) + alpha``) and ``step_b`` on ``b``
(``1/sup|l''|``). As ``x_c`` is centered, the Hessian in ``(w~, b)`` is block
diagonal up to the loss weights, so this preconditioning keeps the step stable
whatever the scale of the features.

``agd`` is Nesterov's method with momentum ``(k - 1)/(k + 2)`` and the
gradient-based adaptive restart of O'Donoghue and Candès (2015): the momentum
is reset when the step direction and the gradient disagree. The objective and
gradient are evaluated at the extrapolated point, which is the iterate the
solver returns.
"""

import numpy as np

from .._numba import jit
from ..objectives._linear import value_grad
from ._common import CONVERGED, DIVERGED, MAX_ITER, RUNNING, original_grad_norm


@jit
def gd_kernel(Xd, data, indices, indptr, sparse, xbar, code, y, s, alpha,
              fit_b, accel, step_w, step_b, tol, max_iter, it0, it1,
              x, x_prev, sc, best, yv, grad, loss_hist, grad_hist):
    """Iterations ``it0 .. it1-1`` of gd/agd; state in ``x, x_prev, sc, best``.

    ``sc = [b, b_prev, k_momentum, best_f, best_b]``. Returns
    ``(n_iter, status)``; on return ``yv`` (and ``sc[0]``... see driver) hold
    the last evaluated point.
    """
    d = x.shape[0]
    for k in range(it0, it1):
        beta = 0.0
        if accel:
            km = sc[2]
            beta = (km - 1.0) / (km + 2.0) if km >= 1.0 else 0.0
        for j in range(d):
            yv[j] = x[j] + beta * (x[j] - x_prev[j])
        yb = sc[0] + beta * (sc[0] - sc[1])
        f, gb = value_grad(Xd, data, indices, indptr, sparse, xbar, code, y, s,
                           alpha, yv, yb, grad)
        if not fit_b:
            gb = 0.0
        gn = original_grad_norm(grad, gb, xbar, fit_b)
        if not (np.isfinite(f) and np.isfinite(gn)):
            for j in range(d):
                yv[j] = best[j]
            sc[0] = sc[4]
            return k, DIVERGED
        loss_hist[k] = f
        grad_hist[k] = gn
        if f < sc[3]:
            sc[3] = f
            sc[4] = yb
            for j in range(d):
                best[j] = yv[j]
        if gn <= tol:
            sc[0] = yb
            return k, CONVERGED
        if k == max_iter:
            sc[0] = yb
            return k, MAX_ITER
        # x_{k+1} = y_k - step * grad(y_k)
        restart = 0.0
        for j in range(d):
            nx = yv[j] - step_w * grad[j]
            restart += grad[j] * (nx - x[j])
            x_prev[j] = x[j]
            x[j] = nx
        nb = yb - step_b * gb
        restart += gb * (nb - sc[0])
        sc[1] = sc[0]
        sc[0] = nb
        if accel:
            sc[2] = 0.0 if restart > 0.0 else sc[2] + 1.0
    # chunk ended: the evaluated point of the next chunk starts from x
    return it1, RUNNING


class GDSolver:
    """Driver of ``gd`` (``accel=False``) and ``agd`` (``accel=True``)."""

    accelerated = False

    def __init__(self, problem, coef, intercept, learning_rate):
        p = problem
        self.p = p
        lf = p.lipschitz_coef
        self.step_w = (1.0 / lf if lf > 0 else 1.0) if learning_rate == "auto" \
            else float(learning_rate)
        # the intercept's curvature is sup|l''|; keep the same preconditioning
        self.step_b = self.step_w * (lf / p.curvature if lf > 0 else 1.0)
        d = p.n_features
        self.x = np.array(coef, dtype=np.float64)
        self.x_prev = self.x.copy()
        self.best = self.x.copy()
        self.sc = np.array([intercept, intercept, 0.0, np.inf, intercept])
        self.yv = self.x.copy()
        self.grad = np.empty(d)

    def run(self, it0, it1, loss_hist, grad_hist, extra_hist):
        p = self.p
        return gd_kernel(*p.args, p.fit_intercept, self.accelerated,
                         self.step_w, self.step_b, p.tol, p.max_iter, it0, it1,
                         self.x, self.x_prev, self.sc, self.best, self.yv,
                         self.grad, loss_hist, grad_hist)

    def drop_momentum(self):
        """Make the next evaluation that of ``x`` itself (no extrapolation)."""
        self.x_prev[:] = self.x
        self.sc[1] = self.sc[0]

    def restore_best(self):
        """Make the best iterate seen (lowest objective) the result."""
        self.yv[:] = self.best
        self.sc[0] = self.sc[4]
        return DIVERGED

    def result(self, status):
        """``(coef, intercept_centered)`` of the last evaluated point."""
        if status == RUNNING:
            return self.x.copy(), self.sc[0]
        return self.yv.copy(), self.sc[0]


class AGDSolver(GDSolver):
    accelerated = True
