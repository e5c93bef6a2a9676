"""Pieces shared by the solvers: the problem, L by Lanczos, the scale search.

Status codes returned by every kernel:

``RUNNING``     the chunk of iterations ended, the fit goes on;
``CONVERGED``   the gradient norm fell to ``tol``;
``MAX_ITER``    ``max_iter`` iterations were taken;
``DIVERGED``    the objective became non-finite; the best iterate was restored;
``STALLED``     no step decreases the objective any more (numerical optimum,
                or a degenerate point such as ``g = 0``);
``SCALE_CAP``   the best scale ``g`` is unbounded and hit the cap;
``STOPPED``     a callback asked the fit to stop (set by the estimator).
"""

import math

import numpy as np
from numba import prange

from .._numba import jit, pjit
from ..objectives._linear import (
    backward,
    block_sum,
    dot,
    forward,
    n_blocks,
    weighted_sq_norm,
)
from ..objectives._losses import CURVATURE_BOUND, loss_derivs

RUNNING, CONVERGED, MAX_ITER, DIVERGED, STALLED, SCALE_CAP, STOPPED = range(7)

#: Largest |g| the scale search may reach, in units of the normalised margin
#: ``t / ||w||_S`` (unit RMS): margins of RMS 1e4 saturate every loss here.
MAX_SCALE = 1e4

#: For the (non-convex) sigmoid loss one scale search may multiply |g| by at
#: most this factor (a trust region). Its best scale is typically infinite:
#: without the bound the scale runs to the cap from the first, random
#: direction, where every gradient vanishes (a "critical point" at infinity).
#: The convex losses get the exact scale search of Kohler et al.'s analysis.
SIGMOID_SCALE_GROWTH = 1.2


class Problem:
    """Everything a solver needs about the data, computed once per fit.

    Attributes are plain arrays and floats so that drivers can pass them
    straight to the kernels. ``design`` is ``(Xd, data, indices, indptr,
    sparse)``; ``xbar`` the weighted feature means (zeros without an
    intercept); ``s`` the normalised sample weights; ``code`` the loss code.
    """

    def __init__(self, design, xbar, y, s, code, alpha, fit_intercept, tol,
                 max_iter):
        self.design = design
        self.xbar = xbar
        self.y = y
        self.s = s
        self.code = code
        self.alpha = float(alpha)
        self.fit_intercept = bool(fit_intercept)
        self.tol = float(tol)
        self.max_iter = int(max_iter)
        self.n_samples = y.shape[0]
        self.n_features = xbar.shape[0]
        self.curvature = CURVATURE_BOUND[code]
        self._lipschitz = None
        self._u = None

    @property
    def args(self):
        """The leading kernel arguments ``(*design, xbar, code, y, s, alpha)``."""
        return (*self.design, self.xbar, self.code, self.y, self.s, self.alpha)

    @property
    def lipschitz(self):
        """``L = lambda_max(S)``, ``S = E_s[x_c x_c^T]``, by Lanczos."""
        if self._lipschitz is None:
            self._lipschitz = lanczos_lmax(*self.design, self.xbar, self.s,
                                           min(self.n_features, 40))
        return self._lipschitz

    @property
    def lipschitz_coef(self):
        """``L_f = sup|l''| L + alpha``: smoothness of the objective in ``w~``."""
        return self.curvature * self.lipschitz + self.alpha

    @property
    def u(self):
        """``u = E_s[z]`` with ``z = -y x_c`` (least squares: ``E_s[-y x_c]``)."""
        if self._u is None:
            u = np.empty(self.n_features)
            backward(*self.design, self.xbar, -self.y * self.s, u)
            self._u = u
        return self._u

    def bn_coef(self, w, g, t):
        """``w~ = g w/||w||_S``, using ``t`` as scratch for the margins."""
        forward(*self.design, self.xbar, w, t)
        return g * w / math.sqrt(weighted_sq_norm(t, self.s))

    def constant_columns(self):
        """Columns whose weighted variance vanishes up to rounding."""
        sq = np.empty(self.n_features)
        column_sq_means(*self.design, self.s, sq)
        var = sq - self.xbar * self.xbar
        return var <= 1e-20 * sq

    def random_direction(self, random_state):
        """A random direction in the range of ``S`` with ``||w||_S = 1``.

        ``w = S xi`` for a Gaussian ``xi`` in feature space: it lies in the
        range of ``S`` (so ``||w||_S > 0`` unless ``S = 0``) and depends on the
        data only through ``S``, so duplicating rows or scaling the weights
        gives the same start. Returns ``None`` when ``S = 0``.
        """
        xi = random_state.standard_normal(self.n_features)
        t = np.empty(self.n_samples)
        forward(*self.design, self.xbar, xi, t)
        # columns constant up to the rounding of their centering are constant:
        # compare the centered energy with the uncentered one
        shift = float(self.xbar @ xi)
        centered = weighted_sq_norm(t, self.s)
        if not centered > 1e-20 * (centered + shift * shift):
            return None
        w = np.empty(self.n_features)
        backward(*self.design, self.xbar, self.s * t, w)
        forward(*self.design, self.xbar, w, t)
        norm_sq = weighted_sq_norm(t, self.s)
        if not norm_sq > 1e-300 or not np.isfinite(norm_sq):
            return None
        return w / math.sqrt(norm_sq)


@jit
def column_sq_means(Xd, data, indices, indptr, sparse, s, out):
    """``out_j <- sum_i s_i x_ij^2`` in one pass, without copying ``X``."""
    out[:] = 0.0
    n = s.shape[0]
    if sparse:
        for i in range(n):
            for k in range(indptr[i], indptr[i + 1]):
                v = data[k]
                out[indices[k]] += s[i] * v * v
    else:
        for i in range(n):
            for j in range(Xd.shape[1]):
                v = Xd[i, j]
                out[j] += s[i] * v * v


@jit
def lanczos_lmax(Xd, data, indices, indptr, sparse, xbar, s, n_steps):
    """Largest eigenvalue of ``S = X_c^T diag(s) X_c`` by Lanczos.

    ``n_steps`` steps with full reorthogonalisation from a fixed start vector;
    the largest Ritz value of the tridiagonal matrix converges fast to
    ``lambda_max`` for the few-hundred-dimensional problems at hand.
    """
    d = xbar.shape[0]
    n = s.shape[0]
    k = min(n_steps, d)
    Q = np.zeros((k + 1, d))
    alphas = np.zeros(k)
    betas = np.zeros(k)
    q = np.empty(d)
    for j in range(d):
        # a fixed, non-symmetric start so no eigenvector is missed by symmetry
        q[j] = 1.0 + 0.5 * math.sin(1.0 + 3.7 * j)
    q /= math.sqrt(dot(q, q))
    Q[0] = q
    t = np.empty(n)
    v = np.empty(d)
    m = 0
    prev_top = -1.0
    for it in range(k):
        forward(Xd, data, indices, indptr, sparse, xbar, Q[it], t)
        for i in range(n):
            t[i] *= s[i]
        backward(Xd, data, indices, indptr, sparse, xbar, t, v)
        a = dot(v, Q[it])
        alphas[it] = a
        m = it + 1
        for _ in range(2):  # full reorthogonalisation, twice is enough
            for p in range(it + 1):
                c = dot(v, Q[p])
                for j in range(d):
                    v[j] -= c * Q[p, j]
        beta = math.sqrt(dot(v, v))
        betas[it] = beta
        if beta <= 1e-12 * max(abs(a), 1e-300) or it == k - 1:
            break
        if it >= 4 and it % 3 == 1:
            # the largest Ritz value usually settles long before k steps:
            # stop once it no longer moves (each pass costs two over X)
            top = _top_ritz(alphas, betas, m)
            if abs(top - prev_top) <= 1e-13 * abs(top):
                break
            prev_top = top
        Q[it + 1] = v / beta
    return max(_top_ritz(alphas, betas, m), 0.0)


@jit
def _top_ritz(alphas, betas, m):
    """Largest eigenvalue of the leading m x m Lanczos tridiagonal matrix."""
    T = np.zeros((m, m))
    for i in range(m):
        T[i, i] = alphas[i]
        if i + 1 < m:
            T[i, i + 1] = betas[i]
            T[i + 1, i] = betas[i]
    return np.linalg.eigvalsh(T)[m - 1]


@jit
def _scale_eval_rows(code, t, inv_norm, y, s, g, b, second, lo, hi, out):
    f = 0.0
    dg = 0.0
    db = 0.0
    hgg = 0.0
    hgb = 0.0
    hbb = 0.0
    for i in range(lo, hi):
        th = t[i] * inv_norm
        val, d1, d2 = loss_derivs(code, g * th + b, y[i])
        si = s[i]
        f += si * val
        if second:
            dg += si * d1 * th
            db += si * d1
            hgg += si * d2 * th * th
            hgb += si * d2 * th
            hbb += si * d2
    out[0] = f
    out[1] = dg
    out[2] = db
    out[3] = hgg
    out[4] = hgb
    out[5] = hbb


@pjit
def _scale_eval(code, t, inv_norm, y, s, alpha, pen, g, b, second):
    """Objective in ``(g, b)`` on cached margins; with derivatives if asked."""
    n = t.shape[0]
    nb = n_blocks(n, 1, n)
    part = np.zeros((nb, 6))
    if nb == 1:
        _scale_eval_rows(code, t, inv_norm, y, s, g, b, second, 0, n, part[0])
    else:
        for blk in prange(nb):
            _scale_eval_rows(code, t, inv_norm, y, s, g, b, second,
                             blk * n // nb, (blk + 1) * n // nb, part[blk])
    sums = np.empty(6)
    block_sum(part, sums)
    f, dg, db, hgg, hgb, hbb = sums[0], sums[1], sums[2], sums[3], sums[4], sums[5]
    f += 0.5 * alpha * pen * g * g
    dg += alpha * pen * g
    hgg += alpha * pen
    return f, dg, db, hgg, hgb, hbb


@jit
def scale_search(code, t, inv_norm, y, s, alpha, pen, fit_b, g, b, max_steps,
                 curvature, grad_tol, growth, g_cap):
    """Minimise ``f(g, b) = E_s[l(g t/||w|| + b)] + alpha/2 pen g^2`` on cached ``t``.

    A damped Newton method on ``(g, b)`` (only ``g`` when ``fit_b`` is False):
    the Newton step when the Hessian is positive definite, else a gradient
    step of length ``1/(sup|l''| + alpha pen)`` (a descent step: with unit-RMS
    centered normalised margins that is the Lipschitz constant of the
    gradient), with Armijo backtracking. Each step is O(n). At most
    ``max_steps`` steps (Kohler et al.'s ``T_s``). The search stays in the
    bracket ``|g| <= B = min(growth max(|g_0|, 1), g_cap)``, and with a
    finite ``growth`` (a trust region, for the sigmoid) also
    ``|b - b_0| <= B``: a bounded search, as the bisection bracket of Kohler
    et al.'s Algorithm 3 is. ``g_cap`` is ``MAX_SCALE`` for the halfspace
    losses, whose ``g`` is in units of the unit-RMS normalised margin, and
    infinite for least squares, whose best scale is finite and in the units
    of ``y``.

    Returns ``(g, b, f, steps, edge)``: ``edge`` is 0 when the search ended
    inside the bracket, 1 at the trust-region bound (the objective still
    decreases as ``|g|`` grows), 2 at ``g_cap``.
    """
    f, dg, db, hgg, hgb, hbb = _scale_eval(code, t, inv_norm, y, s, alpha, pen,
                                           g, b, True)
    edge = 0
    steps = 0
    lip = curvature + alpha * pen
    g_bound = min(growth * max(abs(g), 1.0), g_cap)
    trust = growth < np.inf
    # in the trust region the intercept moves by at most the margin scale:
    # with the sigmoid, b can otherwise run to -inf (predict the majority
    # class) from a poor direction
    b_lo = b - g_bound if trust else -np.inf
    b_hi = b + g_bound if trust else np.inf
    while steps < max_steps:
        if not fit_b:
            db = 0.0
            hgb = 0.0
            hbb = 1.0
        gnorm = math.sqrt(dg * dg + db * db)
        if gnorm <= grad_tol:
            break
        det = hgg * hbb - hgb * hgb
        if hgg > 0.0 and det > 1e-300 * max(hgg * hbb, 1e-300):
            pg = -(hbb * dg - hgb * db) / det
            pb = -(hgg * db - hgb * dg) / det
        else:
            pg = -dg / lip
            pb = -db / lip
        if not fit_b:
            pb = 0.0
        slope = dg * pg + db * pb
        if slope >= 0.0:  # not a descent direction (numerical): use the gradient
            pg = -dg / lip
            pb = -db / lip if fit_b else 0.0
        # shorten the step to stay inside the bracket, then backtrack on it
        tau = 1.0
        by_g = False
        if abs(g + pg) > g_bound:
            room = (g_bound - abs(g)) if g * pg >= 0.0 else (g_bound + abs(g))
            tau = min(tau, max(room, 0.0) / abs(pg))
            by_g = True
        if pb > 0.0 and b + pb > b_hi:
            tau_b = max(b_hi - b, 0.0) / pb
            by_g = by_g and tau <= tau_b
            tau = min(tau, tau_b)
        if pb < 0.0 and b + pb < b_lo:
            tau_b = max(b - b_lo, 0.0) / -pb
            by_g = by_g and tau <= tau_b
            tau = min(tau, tau_b)
        at_cap = by_g and g_bound >= g_cap
        pg *= tau
        pb *= tau
        slope = dg * pg + db * pb
        if slope >= 0.0:  # at the bracket's edge, pushing outwards
            edge = 2 if at_cap else 1
            break
        lam = 1.0
        accepted = False
        for _ in range(30):
            g_new = g + lam * pg
            b_new = b + lam * pb
            # derivatives come with the trial: an accepted trial (the usual
            # case for Newton steps) then needs no second pass
            f_new, dg_n, db_n, hgg_n, hgb_n, hbb_n = _scale_eval(
                code, t, inv_norm, y, s, alpha, pen, g_new, b_new, True)
            if f_new <= f + 1e-4 * lam * slope:
                accepted = True
                break
            lam *= 0.5
        steps += 1
        if not accepted:
            break
        moved = abs(g_new - g) + abs(b_new - b)
        gain = f - f_new
        g, b = g_new, b_new
        f, dg, db, hgg, hgb, hbb = f_new, dg_n, db_n, hgg_n, hgb_n, hbb_n
        if abs(g) >= g_bound * (1.0 - 1e-12):
            edge = 2 if g_bound >= g_cap else 1
            break
        # a step shortened by the trust region ends at its bound
        edge = 1 if (tau < 1.0 and trust) else 0
        if moved <= 1e-15 * (1.0 + abs(g) + abs(b)) or gain <= 1e-15 * abs(f):
            break
    return g, b, f, steps, edge


@jit
def original_grad_norm(G, gb, xbar, fit_b):
    """Norm of the gradient in ``(coef, intercept)``: ``(G + xbar gb, gb)``.

    In centered coordinates the model is ``x_c^T w~ + b``; with
    ``intercept = b - xbar^T w~`` the gradient in ``coef`` gains ``xbar gb``.
    """
    acc = 0.0
    for j in range(G.shape[0]):
        v = G[j] + xbar[j] * gb
        acc += v * v
    if fit_b:
        acc += gb * gb
    return math.sqrt(acc)
