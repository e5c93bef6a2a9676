r"""Gradient descent on the BN (``bn``) and WN (``wn``) reparametrisations.

The coefficients are ``w~ = g w / ||w||_M`` (``M = S`` for ``bn``, ``M = I``
for ``wn``) and each iteration takes one plain gradient step on every
parameter, with a direction step ``eta`` and a scale step ``eta_g``
(Cai et al.'s ``epsilon`` and ``epsilon_a``)::

    w <- w   - eta   * grad_w f
    g <- g   - eta_g * df/dg
    b <- b   - eta_g * df/db

``w`` is never renormalised: ``w^T grad_w f = 0``, so ``||w||`` grows and the
effective step ``eta/||w||^2`` tunes itself (Arora et al., 2019) -- with a
fixed ``eta`` (a float ``learning_rate``), as in the papers. With
``learning_rate="auto"`` the direction step is
``eta_t = min(eta_0, ||w_t||_M^2/(g_t^2 L_f))`` with
``eta_0 = ||w_0||_M^2/(g_0^2 L_f)``: the step it induces on ``w~`` never
exceeds gd's ``1/L_f``. A fixed ``eta`` lets ``(g/||w||_M)^2 eta`` drift
above ``2/L_f`` when ``g`` grows, and the run then blows up before the
growth of ``||w||`` restores stability (measured: wn on a one-hot design
reached an objective of 1e25 before recovering).

bn splits ``w~`` S-orthogonally into length and direction, which on least
squares makes the Hessian block diagonal, so the two auto steps add up to at
most one gd step. wn's Euclidean split does not: the two steps can add up to
twice a stable step, and do (measured: a blow-up on a one-hot design), so
wn's auto steps are halved.
"""

import math

import numpy as np

from ..objectives._design import dot, weighted_sq_norm
from ..reparam._chain import bn_chain, direction_norm, wn_chain
from ._base import Solver, Status, register
from ._common import original_grad_norm

_EMPTY = np.empty(0)


@register
class BNSolver(Solver):
    """``bn``: plain gradient descent on ``(w, g, b)`` of the BN parametrisation."""

    name = "bn"
    weight_norm = False

    def __init__(self, problem, options):
        super().__init__(problem, options)
        n, d = problem.n_samples, problem.n_features
        self.safety = 0.5 if self.weight_norm else 1.0
        self.t = np.empty(n)
        self.r = np.empty(n)
        self.G = np.empty(d)
        self.Sw = np.empty(d)
        self.gw = np.empty(d)

    def start(self, coef, intercept, random_state):
        p = self.problem
        if coef is None:
            w = p.random_direction(random_state)
            scale = 1.0
            if self.weight_norm and w is not None:
                # the same w~: the WN scale is ||w~||_2 for this direction
                scale = float(np.linalg.norm(w))
        else:
            # coef = scale * direction with ||direction||_S = 1
            nS = p.s_norm(coef)
            w, scale = coef / nS, nS
            if self.weight_norm:
                scale = scale * float(np.linalg.norm(w))
        if w is None:
            w = np.zeros(p.n_features)
        self.w = np.array(w, dtype=np.float64)
        self.g = float(scale)
        self.b = float(intercept)
        opt = self.options
        self.auto_eta = opt.learning_rate == "auto"
        if self.auto_eta:
            # eta_0 makes the first direction step a gd step of 1/L_f on w~
            norm_sq = float(self.w @ self.w) if self.weight_norm else 1.0
            g0 = max(abs(self.g), 1e-12)
            lf = p.lipschitz_coef
            self.eta = norm_sq / (g0 * g0 * lf) if lf > 0 else 1.0
            if self.weight_norm:
                self.eta *= 0.5
        else:
            self.eta = float(opt.learning_rate)
        self.auto_eta_g = opt.learning_rate_scale == "auto"
        self.eta_g = 0.0 if self.auto_eta_g else float(opt.learning_rate_scale)
        self.best = self.w.copy()
        self.best_f = np.inf
        self.best_g = self.g
        self.best_b = self.b

    def evaluate(self):
        p = self.problem
        g, b = self.g, self.b
        nW_sq = dot(self.w, self.w)
        if self.weight_norm:
            # wn's scale g/||w||_2 is known before the margins: one pass
            # computes them, the loss and both backward products
            if not (np.isfinite(nW_sq) and nW_sq > 0.0):
                return self.restore_best() if not np.isfinite(nW_sq) \
                    else Status.STALLED
            inv = 1.0 / math.sqrt(nW_sq)
            # wn's chain rule needs ||w||_2, not S w: no X_c^T (s t)
            f, gb, _, _, _, nS_sq = p.design.loss_rmatvec2(
                p.code, self.t, g * inv, b, p.y, p.s, self.r, _EMPTY, self.G,
                None, w=self.w)
            n_sq = nW_sq
            if not np.isfinite(nS_sq):
                return self.restore_best()
            if not nS_sq > 0.0:
                return Status.STALLED
        else:
            p.margins(self.w, self.t)
            nS_sq = weighted_sq_norm(self.t, p.s)
            n_sq = nS_sq
            if not (np.isfinite(nS_sq) and np.isfinite(nW_sq)):
                # ||w|| overflowed: a step far too long; return the best
                return self.restore_best()
            if not nS_sq > 0.0:
                return Status.STALLED
            inv = 1.0 / math.sqrt(n_sq)
            f, gb, _, _, _, _ = p.design.loss_rmatvec2(
                p.code, self.t, g * inv, b, p.y, p.s, self.r, _EMPTY, self.G,
                self.Sw)
        a = g * inv
        self.G += p.alpha * a * self.w  # G = X_c^T r + alpha w~
        f += 0.5 * p.alpha * a * a * nW_sq
        if not p.fit_intercept:
            gb = 0.0
        gn = original_grad_norm(self.G, gb, p.xbar, p.fit_intercept)
        if not (np.isfinite(f) and np.isfinite(gn)):
            return self.restore_best()
        self._record(f, gn, math.sqrt(nW_sq))
        self.gb, self.nS_sq, self.nW_sq, self.n_sq = gb, nS_sq, nW_sq, n_sq
        if f < self.best_f:
            self.best_f = f
            self.best_g = g
            self.best_b = b
            self.best[:] = self.w
        if p.stopping.converged(f, self.G, gb, lambda: a * self.t + b):
            return Status.CONVERGED
        return Status.RUNNING

    def step(self):
        p = self.problem
        g, b = self.g, self.b
        if self.weight_norm:
            dg = wn_chain(self.G, self.w, g, self.gw)
        else:
            dg = bn_chain(self.G, self.w, g, self.Sw, self.nS_sq, self.gw)
        step_g = self.eta_g
        step_b = self.eta_g
        if self.auto_eta_g:
            # the intercept's curvature is at most sup|l''| (weights sum to 1)
            step_b = self.safety / p.curvature
            # curvature bound of f in g: the margins x_c^T w/||w||_M have
            # mean square ||w||_S^2/||w||_M^2 (1 for bn), plus the penalty's
            # alpha ||w||^2/||w||_M^2
            step_g = self.safety / ((p.curvature * self.nS_sq
                                     + p.alpha * self.nW_sq) / self.n_sq)
        step_w = self.eta
        if self.auto_eta and g != 0.0:
            # grad_w f = (g/||w||_M) P G moves w~ by (g/||w||_M)^2 eta P G:
            # keep that induced step at most 1/L_f (and eta at most eta_0)
            step_w = min(self.eta,
                         self.safety * self.n_sq / (g * g * p.lipschitz_coef))
        self.w -= step_w * self.gw
        self.g = g - step_g * dg
        if p.fit_intercept:
            self.b = b - step_b * self.gb
        return Status.RUNNING

    def restore_best(self):
        self.w[:] = self.best
        self.g = self.best_g
        self.b = self.best_b
        return Status.DIVERGED

    def result(self):
        if self.weight_norm:
            return self.g * self.w / direction_norm(self.w), self.b
        return self.problem.bn_coef(self.w, self.g), self.b

    @property
    def scale(self):
        return self.g


@register
class WNSolver(BNSolver):
    """``wn``: the same with Weight Normalization, ``w~ = g w/||w||_2``."""

    name = "wn"
    weight_norm = True
