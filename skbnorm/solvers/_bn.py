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
"""

import math

import numpy as np

from .._numba import jit
from ..objectives._linear import (
    backward2,
    dot,
    forward,
    margin_loss,
    weighted_sq_norm,
)
from ..reparam._chain import bn_chain, direction_norm, wn_chain
from ._common import (
    CONVERGED,
    DIVERGED,
    MAX_ITER,
    RUNNING,
    STALLED,
    original_grad_norm,
)


@jit
def bn_kernel(Xd, data, indices, indptr, sparse, xbar, code, y, s, alpha,
              fit_b, weight_norm, eta, auto_eta, lip_f, eta_g, auto_eta_g,
              curvature, tol,
              max_iter, it0, it1, w, sc, best, t, r, st, G, Sw, gw,
              loss_hist, grad_hist, dir_hist):
    """Iterations ``it0 .. it1-1``; ``sc = [g, b, best_f, best_g, best_b]``."""
    d = w.shape[0]
    n = t.shape[0]
    # bn splits w~ S-orthogonally into length and direction, which on least
    # squares makes the Hessian block diagonal, so the two auto steps add up
    # to at most one gd step. wn's Euclidean split does not: the two steps
    # can add up to twice a stable step, and do (measured: a blow-up on a
    # one-hot design), so wn's auto steps are halved.
    safety = 0.5 if weight_norm else 1.0
    for k in range(it0, it1):
        g = sc[0]
        b = sc[1]
        forward(Xd, data, indices, indptr, sparse, xbar, w, t)
        nS_sq = weighted_sq_norm(t, s)
        nW_sq = dot(w, w)
        n_sq = nW_sq if weight_norm else nS_sq
        if not (np.isfinite(nS_sq) and np.isfinite(n_sq)):
            # ||w|| overflowed: a step far too long; return the best iterate
            for j in range(d):
                w[j] = best[j]
            sc[0] = sc[3]
            sc[1] = sc[4]
            return k, DIVERGED
        if not (nS_sq > 0.0 and n_sq > 0.0):
            return k, STALLED
        inv = 1.0 / math.sqrt(n_sq)
        f, gb, srt = margin_loss(code, t, g * inv, b, y, s, r)
        for i in range(n):
            st[i] = s[i] * t[i]
        backward2(Xd, data, indices, indptr, sparse, xbar, r, st, G, Sw)
        a = g * inv
        for j in range(d):
            G[j] += alpha * a * w[j]  # G = X_c^T r + alpha w~
        f += 0.5 * alpha * a * a * nW_sq
        if not fit_b:
            gb = 0.0
        gn = original_grad_norm(G, gb, xbar, fit_b)
        if not (np.isfinite(f) and np.isfinite(gn)):
            for j in range(d):
                w[j] = best[j]
            sc[0] = sc[3]
            sc[1] = sc[4]
            return k, DIVERGED
        loss_hist[k] = f
        grad_hist[k] = gn
        dir_hist[k] = math.sqrt(nW_sq)
        if f < sc[2]:
            sc[2] = f
            sc[3] = g
            sc[4] = b
            for j in range(d):
                best[j] = w[j]
        if gn <= tol:
            return k, CONVERGED
        if k == max_iter:
            return k, MAX_ITER
        if weight_norm:
            dg = wn_chain(G, w, g, gw)
        else:
            dg = bn_chain(G, w, g, Sw, nS_sq, gw)
        step_g = eta_g
        step_b = eta_g
        if auto_eta_g:
            # the intercept's curvature is at most sup|l''| (weights sum to 1)
            step_b = safety / curvature
            # curvature bound of f in g: the margins x_c^T w/||w||_M have
            # mean square ||w||_S^2/||w||_M^2 (1 for bn), plus the penalty's
            # alpha ||w||^2/||w||_M^2
            step_g = safety / ((curvature * nS_sq + alpha * nW_sq) / n_sq)
        step_w = eta
        if auto_eta and g != 0.0:
            # grad_w f = (g/||w||_M) P G moves w~ by (g/||w||_M)^2 eta P G:
            # keep that induced step at most 1/L_f (and eta at most eta_0)
            step_w = min(eta, safety * n_sq / (g * g * lip_f))
        for j in range(d):
            w[j] -= step_w * gw[j]
        sc[0] = g - step_g * dg
        if fit_b:
            sc[1] = b - step_b * gb
    return it1, RUNNING


class BNSolver:
    """Driver of ``bn`` (and of ``wn`` in the subclass)."""

    weight_norm = False

    def __init__(self, problem, direction, scale, intercept, learning_rate,
                 learning_rate_scale):
        p = self.p = problem
        self.w = np.array(direction, dtype=np.float64)
        self.auto_eta = learning_rate == "auto"
        if self.auto_eta:
            # eta_0 makes the first direction step a gd step of 1/L_f on w~
            norm_sq = float(self.w @ self.w) if self.weight_norm else 1.0
            g0 = max(abs(scale), 1e-12)
            lf = p.lipschitz_coef
            self.eta = norm_sq / (g0 * g0 * lf) if lf > 0 else 1.0
            if self.weight_norm:
                self.eta *= 0.5  # see the kernel's comment on wn's safety
        else:
            self.eta = float(learning_rate)
        self.auto_eta_g = learning_rate_scale == "auto"
        self.eta_g = 0.0 if self.auto_eta_g else float(learning_rate_scale)
        n, d = p.n_samples, p.n_features
        self.sc = np.array([scale, intercept, np.inf, scale, intercept])
        self.best = self.w.copy()
        self.t = np.empty(n)
        self.r = np.empty(n)
        self.st = np.empty(n)
        self.G = np.empty(d)
        self.Sw = np.empty(d)
        self.gw = np.empty(d)

    def run(self, it0, it1, loss_hist, grad_hist, dir_hist):
        p = self.p
        return bn_kernel(*p.args, p.fit_intercept, self.weight_norm, self.eta,
                         self.auto_eta, p.lipschitz_coef, self.eta_g,
                         self.auto_eta_g, p.curvature, p.tol,
                         p.max_iter, it0, it1, self.w, self.sc, self.best,
                         self.t, self.r, self.st, self.G, self.Sw, self.gw,
                         loss_hist, grad_hist, dir_hist)

    def restore_best(self):
        """Make the best iterate seen (lowest objective) the result."""
        self.w[:] = self.best
        self.sc[0] = self.sc[3]
        self.sc[1] = self.sc[4]
        return DIVERGED

    def result(self, status):
        """``(coef, intercept_centered)`` of the current iterate."""
        g = self.sc[0]
        if self.weight_norm:
            return g * self.w / direction_norm(self.w), self.sc[1]
        return self.p.bn_coef(self.w, g, self.t), self.sc[1]

    @property
    def scale(self):
        return self.sc[0]


class WNSolver(BNSolver):
    weight_norm = True
