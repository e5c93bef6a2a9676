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

from ..objectives._design import dot
from ._base import Solver, Status, register
from ._common import original_grad_norm


@register
class GDSolver(Solver):
    """``gd``: gradient descent on ``(w~, b)``."""

    name = "gd"
    accelerated = False
    has_scale = False
    chunked = True

    def __init__(self, problem, options):
        super().__init__(problem, options)
        p = problem
        lf = p.lipschitz_coef
        lr = options.learning_rate
        self.step_w = (1.0 / lf if lf > 0 else 1.0) if lr == "auto" else float(lr)
        # the intercept's curvature is sup|l''|; keep the same preconditioning
        self.step_b = self.step_w * (lf / p.curvature if lf > 0 else 1.0)
        self.grad = np.empty(p.n_features)

    def start(self, coef, intercept, random_state):
        if coef is None:
            p = self.problem
            coef = p.random_direction(random_state)
            coef = np.zeros(p.n_features) if coef is None else coef
        self.x = np.array(coef, dtype=np.float64)
        self.x_prev = self.x.copy()
        self.best = self.x.copy()
        self.b = self.b_prev = self.best_b = float(intercept)
        self.best_f = np.inf
        self.k_momentum = 0.0
        # the point evaluated last (agd: the extrapolated one)
        self.yv = self.x.copy()
        self.yb = self.b
        self.evaluated = False

    def evaluate(self):
        p = self.problem
        beta = 0.0
        if self.accelerated:
            km = self.k_momentum
            beta = (km - 1.0) / (km + 2.0) if km >= 1.0 else 0.0
        self.yv = self.x + beta * (self.x - self.x_prev)
        self.yb = self.b + beta * (self.b - self.b_prev)
        f, gb = p.design.value_grad(p.code, p.y, p.s, p.alpha, self.yv, self.yb,
                                    self.grad)
        if not p.fit_intercept:
            gb = 0.0
        self.gb = gb
        gn = original_grad_norm(self.grad, gb, p.xbar, p.fit_intercept)
        self.evaluated = True
        if not (np.isfinite(f) and np.isfinite(gn)):
            return self.restore_best()
        self._record(f, gn)
        if f < self.best_f:
            self.best_f = f
            self.best_b = self.yb
            self.best[:] = self.yv
        if p.stopping.converged(f, self.grad, gb, self._margins):
            return Status.CONVERGED
        return Status.RUNNING

    def _margins(self):
        return self.problem.margins(self.yv) + self.yb

    def step(self):
        # x_{k+1} = y_k - step * grad(y_k)
        nx = self.yv - self.step_w * self.grad
        restart = dot(self.grad, nx - self.x)
        self.x_prev = self.x
        self.x = nx
        nb = self.yb - self.step_b * self.gb
        restart += self.gb * (nb - self.b)
        self.b_prev = self.b
        self.b = nb
        if self.accelerated:
            self.k_momentum = 0.0 if restart > 0.0 else self.k_momentum + 1.0
        self.evaluated = False
        return Status.RUNNING

    def drop_momentum(self):
        self.x_prev = self.x.copy()
        self.b_prev = self.b

    def restore_best(self):
        self.yv = self.best.copy()
        self.yb = self.best_b
        self.x = self.best.copy()
        self.b = self.best_b
        self.evaluated = True
        return Status.DIVERGED

    def result(self):
        if self.evaluated:
            return self.yv.copy(), self.yb
        return self.x.copy(), self.b


@register
class AGDSolver(GDSolver):
    """``agd``: Nesterov's accelerated gradient with adaptive restart."""

    name = "agd"
    accelerated = True
