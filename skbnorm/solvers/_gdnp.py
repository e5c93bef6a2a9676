r"""Gradient Descent in Normalized Parameters (``gdnp``, Kohler et al. 2019).

Each iteration, on the BN parametrisation ``w~ = g w/||w||_S``:

1. **scale search** -- ``(g, b) <- argmin f(g w/||w||_S, b)`` on the cached
   margins ``t = X_c w`` (:func:`~skbnorm.solvers._common.scale_search`, a
   damped Newton method of at most ``n_bisection`` O(n) steps, in place of
   Kohler et al.'s bisection, Algorithm 3);
2. **directional step** -- ``w <- w - s_t grad_w f`` with

   .. math::

       s_t = -\frac{\lVert w\rVert_S^3}{L\,g\,h(w, g)},\qquad
       h = (u^\top w)\,E[\phi'(z^\top\tilde w)]
           - \frac{g}{\lVert w\rVert_S}(u^\top w)^2\,E[\phi''(z^\top\tilde w)],

   ``u = E[z]``, ``z = -y x_c``. The printed equation (18) of the paper drops
   the factor ``g/||w||_S``; with it, the step is scale-consistent and on
   Gaussian ``z`` reproduces the least-squares step of Theorem 1 exactly. For
   least squares ``h = u^T w`` and the step is Theorem 1's
   ``w <- w + 2 eta_t ((u^T w) u + rho(w) S w)/(w^T S w)``.
3. **stop** when the gradient norm is below ``tol``.

Safeguards (off the Gaussian model the step is a heuristic): ``|s_t|`` is used
so that the step is a descent step; where ``s_t`` is undefined (``h = 0``,
``g = 0``) the step falls back to the gd-equivalent ``||w||_S^2/(g^2 L_f)``;
a step may turn ``w`` by at most ``atan(10)`` (a tiny ``h`` otherwise gives an
astronomically long step);
a step whose objective after the scale search is higher is halved until it is
not (at most 30 times), else the solver stops (``STALLED``); the shortening
carries over to the next iterations and is undone (doubled back to 1) by
each step accepted at its first trial. ``w`` is
renormalised to ``||w||_S = 1`` after each step, which changes nothing but
keeps the numbers in range.
"""

import math

import numpy as np
from numba import prange

from .._numba import jit, pjit
from ..objectives._linear import (
    backward2,
    block_sum,
    dot,
    forward,
    n_blocks,
    weighted_sq_norm,
)
from ..objectives._losses import SIGMOID, SQUARED, loss_derivs
from ..reparam._chain import bn_chain
from ._common import (
    CONVERGED,
    MAX_ITER,
    MAX_SCALE,
    RUNNING,
    SCALE_CAP,
    SIGMOID_SCALE_GROWTH,
    STALLED,
    original_grad_norm,
    scale_search,
)
from ._subspace import subspace_eval_cached, subspace_newton


@jit
def _margin_pass_rows(code, t, scale, b, y, s, r, r2, lo, hi, out):
    f = 0.0
    sum_r = 0.0
    e1 = 0.0
    e2 = 0.0
    keep_r2 = r2.shape[0] > 0
    for i in range(lo, hi):
        val, d1, d2 = loss_derivs(code, scale * t[i] + b, y[i])
        si = s[i]
        f += si * val
        ri = si * d1
        r[i] = ri
        sum_r += ri
        e1 -= y[i] * ri
        e2 += si * d2
        if keep_r2:
            r2[i] = si * d2
    out[0] = f
    out[1] = sum_r
    out[2] = e1
    out[3] = e2


@pjit
def _margin_pass(code, t, scale, b, y, s, r, r2):
    """Loss, ``r = s l'`` and the moments ``E[phi'], E[phi'']`` of ``h``, in O(n).

    For the halfspace losses ``phi'(z^T w~) = -y l'`` and ``phi'' = l''``;
    least squares does not use the moments. Unless ``r2`` is empty it
    receives ``s l''`` (the subspace step's first Newton step reuses both).
    """
    n = t.shape[0]
    nb = n_blocks(n, 1, n)
    part = np.zeros((nb, 4))
    if nb == 1:
        _margin_pass_rows(code, t, scale, b, y, s, r, r2, 0, n, part[0])
    else:
        for blk in prange(nb):
            _margin_pass_rows(code, t, scale, b, y, s, r, r2, blk * n // nb,
                              (blk + 1) * n // nb, part[blk])
    sums = np.empty(4)
    block_sum(part, sums)
    return sums[0], sums[1], sums[2], sums[3]


#: the subspace step's Newton solve stops once its predicted further gain is
#: this fraction of what it has gained (measured on a9a: 1e-2 needs no more
#: iterations than an exact solve, with fewer Newton steps each)
SUBSPACE_REL_GAIN = 1e-2

@jit
def _to_unit_s_norm(v, tv, s):
    """Scale ``v`` and its margins ``tv`` to ``||v||_S = 1``; False if not possible."""
    sq = weighted_sq_norm(tv, s)
    if not (sq > 0.0 and np.isfinite(sq)):
        return False
    inv = 1.0 / math.sqrt(sq)
    for i in range(tv.shape[0]):
        tv[i] *= inv
    for j in range(v.shape[0]):
        v[j] *= inv
    return True


#: the subspace step updates the margins by linear combination; recompute
#: them from ``X`` this often, so that rounding cannot build up
REFRESH_EVERY = 64


@jit
def _subspace_step(Xd, data, indices, indptr, sparse, xbar, code, y, s, alpha,
                   fit_b, n_search, curvature, search_tol, g_cap, w, sc, t,
                   nS_sq, nW_sq, gw, tg, T, p, tp, Q, c, refresh, f_data, r,
                   r2, init):
    """The Rayleigh--Ritz step of :mod:`._subspace`; updates ``w, t, p, tp, sc``.

    Returns the scale's edge flag (2 at ``g_cap``, else 0), or -1 when no
    step decreases the objective.
    """
    n = t.shape[0]
    d = w.shape[0]
    g = sc[0]
    inv = 1.0 / math.sqrt(nS_sq)
    forward(Xd, data, indices, indptr, sparse, xbar, gw, tg)
    # unit S-norm for grad_w f, as for w and p: at its raw size the
    # subproblem's gradient along it scales with |grad|^2, falls below the
    # Newton solve's tolerance (and its curvature below the ridge) long
    # before the outer gradient reaches tol, and the solver stalls
    _to_unit_s_norm(gw, tg, s)
    have_p = sc[7] > 0.0
    k = 3 if have_p else 2
    for i in range(n):
        T[i, 0] = t[i] * inv
        T[i, 1] = tg[i]
        T[i, 2] = tp[i] if have_p else 0.0
    Q[:, :] = 0.0
    Q[0, 0] = nW_sq * inv * inv
    Q[0, 1] = Q[1, 0] = dot(w, gw) * inv
    Q[1, 1] = dot(gw, gw)
    if have_p:
        Q[0, 2] = Q[2, 0] = dot(w, p) * inv
        Q[1, 2] = Q[2, 1] = dot(gw, p)
        Q[2, 2] = dot(p, p)
    c[0] = g
    c[1] = 0.0
    c[2] = 0.0
    # the subproblem's derivatives at the current iterate, from the margin
    # pass's per-row l' and l'': no transcendental pass
    subspace_eval_cached(T, r, r2, init)
    init[0] = f_data
    f_new, b_new, steps, fresh, sum_r = subspace_newton(
        code, T, k, c, sc[1], y, s, r, r2, alpha, Q, fit_b, n_search,
        curvature, search_tol, SUBSPACE_REL_GAIN, init)
    # the data term of f_new (subspace_newton adds the penalty to the sums)
    pen = 0.0
    for j in range(k):
        for q in range(k):
            pen += c[j] * Q[j, q] * c[q]
    f_data_new = f_new - 0.5 * alpha * pen
    sc[4] += steps
    # a step may leave f unchanged up to its rounding (see subspace_newton)
    if steps == 0 or not f_new <= sc[2] + 1e-13 * abs(sc[2]):
        return -1
    if not have_p:
        c[2] = 0.0
    nn_sq = 0.0
    for i in range(n):
        tt = c[0] * T[i, 0] + c[1] * T[i, 1] + c[2] * T[i, 2]
        nn_sq += s[i] * tt * tt
    g_new = math.sqrt(nn_sq)
    if not (g_new > 0.0 and np.isfinite(g_new)):
        return -1
    edge = 0
    if g_new > g_cap:
        # keep the direction, stop the scale at the cap (the caller stops)
        edge = 2
        shrink = g_cap / g_new
        for j in range(k):
            c[j] *= shrink
        g_new = g_cap
    # the move p = w~_new - w~_old = (c_0 - g) v_0 + c_1 v_1 + c_2 v_2 and
    # its margins, from the same coefficients: near convergence the move is
    # tiny, and forming it as a difference of the two iterates would leave p
    # and its margins inconsistent after the renormalisation below
    dc0 = c[0] - g
    for i in range(n):
        t[i] = (c[0] * T[i, 0] + c[1] * T[i, 1] + c[2] * T[i, 2]) / g_new
        tp[i] = dc0 * T[i, 0] + c[1] * T[i, 1] + c[2] * T[i, 2]
    for j in range(d):
        v0 = w[j] * inv
        pj = dc0 * v0 + c[1] * gw[j]
        if have_p:
            pj += c[2] * p[j]
        w[j] = (c[0] * v0 + c[1] * gw[j] + (c[2] * p[j] if have_p else 0.0)) / g_new
        p[j] = pj
    # p's length is free (its coefficient is solved for): unit S-norm keeps
    # the subproblem well scaled
    sc[7] = 1.0 if _to_unit_s_norm(p, tp, s) else 0.0
    if refresh:
        forward(Xd, data, indices, indptr, sparse, xbar, w, t)
        if sc[7] > 0.0:
            forward(Xd, data, indices, indptr, sparse, xbar, p, tp)
    sc[0] = g_new
    sc[1] = b_new
    sc[2] = f_new
    # r, r2 hold l', l'' at the new iterate when its trial was the last one
    # evaluated: the next iteration's gradient needs no margin pass then
    reuse = fresh and edge == 0 and not refresh
    sc[8] = 1.0 if reuse else 0.0
    sc[9] = f_data_new
    sc[10] = sum_r
    return edge


@jit
def gdnp_kernel(Xd, data, indices, indptr, sparse, xbar, code, y, s, alpha,
                fit_b, u, lip, lip_f, curvature, lr_mult, n_search, growth,
                g_cap, tol,
                max_iter, it0, it1, w, sc, t, t_new, w_new, r, st, G, Sw, gw,
                loss_hist, grad_hist, dir_hist, subspace, T, p, tp, Q, c, r2,
                init):
    """Iterations ``it0 .. it1-1``.

    ``sc = [g, b, f, ready, search_steps, step_shrink, edge, have_p, reuse,
    f_data, sum_r]`` where ``edge`` is the last scale search's end (see
    :func:`scale_search`), ``have_p`` whether ``p`` holds a previous move and
    ``reuse`` whether ``r``, ``r2``, ``f_data``, ``sum_r`` already hold the
    current iterate's loss terms (subspace step).

    On entry with ``sc[3] == 0`` the margins ``t`` and the scale search at
    ``w`` are (re)computed; afterwards they are carried between iterations.
    """
    d = w.shape[0]
    n = t.shape[0]
    search_tol = 1e-3 * tol
    if sc[3] == 0.0:
        forward(Xd, data, indices, indptr, sparse, xbar, w, t)
        nS_sq = weighted_sq_norm(t, s)
        if not nS_sq > 0.0:
            return it0, STALLED
        pen = dot(w, w) / nS_sq
        g, b, f, steps, edge = scale_search(
            code, t, 1.0 / math.sqrt(nS_sq), y, s, alpha, pen, fit_b, sc[0],
            sc[1], n_search, curvature, search_tol, growth, g_cap)
        sc[0] = g
        sc[1] = b
        sc[2] = f
        sc[3] = 1.0
        sc[4] += steps
        sc[6] = edge
    for k in range(it0, it1):
        g = sc[0]
        b = sc[1]
        nS_sq = weighted_sq_norm(t, s)
        nS = math.sqrt(nS_sq)
        inv = 1.0 / nS
        a = g * inv
        if sc[8] > 0.0:
            # the subspace step left l', l'' of this iterate in r, r2
            f = sc[9]
            gb = sc[10]
            e1 = 0.0
            e2 = 0.0
            sc[8] = 0.0
        else:
            f, gb, e1, e2 = _margin_pass(code, t, a, b, y, s, r, r2)
        f_data = f
        for i in range(n):
            st[i] = s[i] * t[i]
        backward2(Xd, data, indices, indptr, sparse, xbar, r, st, G, Sw)
        nW_sq = dot(w, w)
        for j in range(d):
            G[j] += alpha * a * w[j]
        f += 0.5 * alpha * a * a * nW_sq
        if not fit_b:
            gb = 0.0
        gn = original_grad_norm(G, gb, xbar, fit_b)
        loss_hist[k] = f
        grad_hist[k] = gn
        dir_hist[k] = math.sqrt(nW_sq)
        if sc[6] == 2.0:
            # the last scale search hit the cap: this iterate is recorded, stop
            return k, SCALE_CAP
        if gn <= tol:
            return k, CONVERGED
        if k == max_iter:
            return k, MAX_ITER
        bn_chain(G, w, g, Sw, nS_sq, gw)
        if subspace:
            edge = _subspace_step(Xd, data, indices, indptr, sparse, xbar,
                                  code, y, s, alpha, fit_b, n_search,
                                  curvature, search_tol, g_cap, w, sc, t,
                                  nS_sq, nW_sq, gw, t_new, T, p, tp, Q, c,
                                  (k + 1) % REFRESH_EVERY == 0, f_data, r, r2,
                                  init)
            if edge < 0:
                return k, STALLED
            sc[6] = edge
            continue
        uw = dot(u, w)
        if code == SQUARED:
            h = uw  # least squares: Theorem 1's step exactly
        else:
            h = uw * e1 - a * uw * uw * e2
        step = 0.0
        if g != 0.0 and h != 0.0 and abs(h) > 1e-300:
            step = abs(nS_sq * nS / (lip * g * h)) * lr_mult
        if not (np.isfinite(step) and step > 0.0):
            if g == 0.0:
                return k, STALLED
            step = nS_sq / (g * g * lip_f) * lr_mult
        # grad_w f is orthogonal to w, so a step turns w by the angle
        # atan(step ||grad_w f|| / ||w||); where h is tiny but not zero the
        # model step is astronomically long and every such step lands on the
        # same direction -grad_w f. Capping the turn at atan(10) (84 degrees)
        # loses nothing and leaves the halvings below room to work.
        gw_norm = math.sqrt(dot(gw, gw))
        if gw_norm > 0.0:
            step = min(step, 10.0 * math.sqrt(nW_sq) / gw_norm)
        # remember how much the last steps had to be shortened, so that a
        # region where the model step is too long costs one trial, not many
        step *= sc[5]
        accepted = False
        tries = 0
        for _ in range(31):
            tries += 1
            for j in range(d):
                w_new[j] = w[j] - step * gw[j]
            forward(Xd, data, indices, indptr, sparse, xbar, w_new, t_new)
            nn_sq = weighted_sq_norm(t_new, s)
            if nn_sq > 0.0 and np.isfinite(nn_sq):
                pen = dot(w_new, w_new) / nn_sq
                g2, b2, f2, steps, edge = scale_search(
                    code, t_new, 1.0 / math.sqrt(nn_sq), y, s, alpha, pen,
                    fit_b, g, b, n_search, curvature, search_tol, growth,
                    g_cap)
                sc[4] += steps
                if f2 <= f + 1e-13 * abs(f):
                    accepted = True
                    break
            step *= 0.5
            sc[5] *= 0.5
        if not accepted:
            return k, STALLED
        if tries == 1:
            sc[5] = min(1.0, 2.0 * sc[5])
        # accept, renormalise to ||w||_S = 1 (the objective is scale invariant)
        inv_new = 1.0 / math.sqrt(nn_sq)
        for j in range(d):
            w[j] = w_new[j] * inv_new
        for i in range(n):
            t[i] = t_new[i] * inv_new
        sc[0] = g2
        sc[1] = b2
        sc[2] = f2
        sc[6] = edge
    return it1, RUNNING


class GDNPSolver:
    """Driver of ``gdnp``."""

    def __init__(self, problem, direction, scale, intercept, learning_rate,
                 n_bisection, direction_step="paper"):
        if direction_step not in ("paper", "subspace"):
            raise ValueError(
                "direction_step must be 'paper' or 'subspace'; got "
                f"{direction_step!r}."
            )
        p = self.p = problem
        self.subspace = direction_step == "subspace"
        if self.subspace and p.code == SIGMOID:
            raise ValueError(
                "direction_step='subspace' needs a convex loss: its subproblem "
                "is solved by Newton's method, and the sigmoid loss is not "
                "convex. Use direction_step='paper' with loss='sigmoid'."
            )
        self.w = np.array(direction, dtype=np.float64)
        self.lr_mult = 1.0 if learning_rate == "auto" else float(learning_rate)
        self.n_search = int(n_bisection)
        self.scale_growth = (SIGMOID_SCALE_GROWTH if p.code == SIGMOID
                             else np.inf)
        n, d = p.n_samples, p.n_features
        self.sc = np.array([scale, intercept, np.nan, 0.0, 0.0, 1.0, 0.0, 0.0,
                            0.0, 0.0, 0.0])
        self.t = np.empty(n)
        self.t_new = np.empty(n)
        self.w_new = np.empty(d)
        self.r = np.empty(n)
        self.st = np.empty(n)
        self.G = np.empty(d)
        self.Sw = np.empty(d)
        self.gw = np.empty(d)
        # the subspace step's cached margins (n x 3) and previous move
        m, k = (n, d) if self.subspace else (0, 0)
        self.T = np.zeros((m, 3))
        self.p_dir = np.zeros(k)
        self.tp = np.zeros(m)
        self.Q = np.zeros((3, 3))
        self.c = np.zeros(3)
        self.r2 = np.zeros(m)
        self.init = np.zeros(15)

    def run(self, it0, it1, loss_hist, grad_hist, dir_hist):
        p = self.p
        return gdnp_kernel(*p.args, p.fit_intercept, p.u, p.lipschitz + p.alpha,
                           p.lipschitz_coef, p.curvature, self.lr_mult,
                           self.n_search, self.scale_growth,
                           np.inf if p.code == SQUARED else MAX_SCALE, p.tol,
                           p.max_iter, it0, it1, self.w,
                           self.sc, self.t, self.t_new, self.w_new, self.r,
                           self.st, self.G, self.Sw, self.gw, loss_hist,
                           grad_hist, dir_hist, self.subspace, self.T,
                           self.p_dir, self.tp, self.Q, self.c, self.r2,
                           self.init)

    def result(self, status):
        """``(coef, intercept_centered)`` of the current iterate."""
        # a scratch array: self.t carries the margins between iterations, and
        # callbacks call this every iteration
        return self.p.bn_coef(self.w, self.sc[0], self.t_new), self.sc[1]

    @property
    def scale(self):
        return self.sc[0]

    @property
    def scale_at_bound(self):
        """Whether the last scale search ended at its trust-region bound."""
        return self.sc[6] == 1.0
