r"""gdnp's Rayleigh--Ritz directional step: Newton on a small subspace.

Kohler et al.'s directional step moves ``w`` along ``-grad_w f`` by a step
length taken from a model of the objective, then searches the scale. The
objective is invariant to the length of ``w``, so the scale search and the
step can be done together and exactly on a subspace: with ``v_0 = w/||w||_S``
(the current direction, its coefficient the length ``g``), ``v_1`` a
descent direction and ``v_2 = p`` the previous move, or the gradient where
``v_1`` is Newton's direction at this iterate (``v_1`` and ``v_2`` scaled to
unit ``S``-norm: the subproblem stays well scaled as the gradient vanishes),

.. math::

    \min_{c, b}\; \sum_i s_i\, l\big(\textstyle\sum_j c_j\, x_{ci}^\top v_j
    + b,\ y_i\big) + \frac{\alpha}{2}\, c^\top Q c,
    \qquad Q_{jk} = v_j^\top v_k,

and ``w~ <- sum_j c_j v_j`` (``g = ||w~||_S``, ``w = w~/g``). The margins
``x_ci^T v_j`` are cached (``v_0``'s are the current ones, the previous
move's are combined from the last iteration's; the gradient's, where it
takes the third slot, come from a pass over ``X``), so a Newton step on
``(c, b)`` costs one O(n) pass; an iteration reads ``X`` twice, for the
gradient and the margins of ``v_1`` (three times with the gradient in the
subspace).

The descent direction is the gradient in a metric ``M`` (``metric=``):

``"identity"``
    ``v_1 = grad_w f``, the BN chain-rule gradient (its component along
    ``S w`` removed). On ``span{v_0, v_1}`` alone the step is the
    Rayleigh--Ritz step of eigensolvers; ``v_2`` adds LOBPCG's momentum.
``"S"``
    ``v_1 = M^{-1} grad F`` with ``M = E[l''] S + alpha I`` at the start:
    Batch Normalization's whitening taken to its end, a decorrelating,
    full-covariance normalisation of the inputs, fixed for the fit.
``"hessian"``
    The same with ``M`` the Hessian (:mod:`._metric`), formed at the start
    (where it equals the ``S`` metric) and refreshed at later iterates when
    that pays: a refresh costs one Hessian pass and a factorisation, and
    is taken when the measured contraction of the last iterations predicts
    that the stale metric needs more iterations than the refresh costs.
    With a fresh metric ``v_1`` is Newton's direction and the step is at
    least as good as a damped Newton step, with the length ``c_0`` free.
``"diagonal"``
    ``M`` the Hessian's diagonal: BN's own per-unit normalisation (for
    designs too wide for a dense metric).
``"auto"``
    ``"hessian"`` when ``n_features <= MAX_METRIC_FEATURES``, else
    ``"diagonal"``. For the logistic loss on a shape whose Hessian costs
    more than :data:`DEFER_METRIC` iterations the metric is deferred: the
    first iterations take ``v_1 = grad F`` (``M = I``, from ``w~ = 0``),
    and the Hessian is formed when the rate of their objective decreases
    predicts that it pays (:func:`refresh_pays`), or when the gap that rate
    predicts is below ``tol`` (the stopping test's decrement needs it). On
    benchopt's simulated ``100000 x 400`` (isotropic Gaussian rows, where
    the Hessian at the start is nearly a multiple of the identity) the
    gradient's own direction reaches 1e-6 in 7 iterations (``lambda = 1``)
    and 13 (``lambda = 0.01``), without a Hessian (one costs about 15). A
    warm start (a given ``coef``) forms the Hessian at once.

With a metric the fit starts at ``w~ = 0`` (the subspace is ``span{v_1}``
until there is a direction); with ``"identity"`` at a random direction,
as the papers' solvers do. The free coefficient on ``v_0`` is the
length--direction decoupling: the iterate's length moves in the same exact
search as its direction. Measured on separable data (benchopt's simulated
``100000 x 400``, ``lambda = 0.01``) Newton's direction in this subspace
reaches a relative suboptimality of 1e-6 in 4 iterations where
scikit-learn's ``newton-cholesky`` needs 19: the length grows as fast as
the data allow in one search.

The subproblem is solved by Newton's method with Armijo backtracking (a
gradient step when its Hessian is not positive definite), started from the
current iterate ``c = (g, 0, 0)``, so the objective never increases.
Convex losses only with ``"identity"`` (the papers' setting); with a
metric the sigmoid's subproblem is damped until its Hessian is positive
definite.
"""

import math

import numpy as np

from ..objectives._design import dot
from ..objectives._losses import SIGMOID, SOFTPLUS, SQUARED
from ..reparam._chain import bn_chain
from ._base import MAX_SCALE, Solver, Status
from ._common import original_grad_norm, scale_search
from ._metric import (
    MAX_METRIC_FEATURES,
    WoodburyFactor,
    curvature_weights,
    hessian,
    metric_factor,
    newton_decrement,
)

#: the subspace step's Newton solve stops once its predicted further gain is
#: this fraction of what it has gained (measured on a9a: 1e-2 needs no more
#: iterations than an exact solve, with fewer Newton steps each)
SUBSPACE_REL_GAIN = 1e-2

#: the subspace step updates the margins by linear combination; recompute
#: them from ``X`` this often, so that rounding cannot build up
REFRESH_EVERY = 64

#: the sigmoid's start (the logistic solution) is solved to this relative
#: suboptimality, in at most this many iterations: it is only a start
SURROGATE_TOL = 1e-4
SURROGATE_MAX_ITER = 50

#: the relative error of margins computed from X (a few roundings)
EPS = 1e-15
#: cached margins whose error bound exceeds this are recomputed from X (the
#: iterate's) or dropped (the previous move's); see SubspaceSolver._step
MAX_MARGIN_ERROR = 1e-9

#: the first step of a wide design (from ``w~ = 0``) solves its subproblem
#: to this relative gain instead. From zero the length has to grow from
#: nothing, and a solve stopped at 1e-2 of its gain stops far short: on
#: benchopt's simulated 200 x 500 (lambda = 0.01) the first iterate's
#: relative suboptimality was 4.3 against 0.068 solved through, and the fit
#: needed a fifth step for 1e-6. The rows are few against the values of a
#: pass over ``X`` there, so the Newton steps cost little; on a tall design
#: (make_classification 15000 x 50) the same solve took the fit from 23 to
#: 40 ms for no fewer iterations
FIRST_REL_GAIN = 1e-8

METRICS = ("auto", "hessian", "S", "diagonal", "identity")


def _to_unit_s_norm(design, v, tv, s, sq=None):
    """Scale ``v`` and its margins ``tv`` to ``||v||_S = 1``; False if not
    possible. ``sq``: ``||v||_S^2`` when the caller has it (a pass saved)."""
    if sq is None:
        sq = design.weighted_sq_norm(tv, s)
    if not (sq > 0.0 and np.isfinite(sq)):
        return False
    inv = 1.0 / math.sqrt(sq)
    tv *= inv
    v *= inv
    return True


# The subproblem has at most MAX_DIM unknowns: its algebra runs as plain
# Python on lists (compiling it cost 1.6 s of a 4.5 s cold first fit; it
# costs microseconds at run time).


def _cholesky_solve(H, rhs):
    """Solve ``H x = rhs`` for a small symmetric ``H`` (lists); None if not PD."""
    m = len(rhs)
    L = [[0.0] * m for _ in range(m)]
    for j in range(m):
        acc = H[j][j]
        for q in range(j):
            acc -= L[j][q] * L[j][q]
        if not acc > 0.0:
            return None
        L[j][j] = math.sqrt(acc)
        for i in range(j + 1, m):
            acc = H[i][j]
            for q in range(j):
                acc -= L[i][q] * L[j][q]
            L[i][j] = acc / L[j][j]
    tmp = [0.0] * m
    for i in range(m):
        acc = rhs[i]
        for q in range(i):
            acc -= L[i][q] * tmp[q]
        tmp[i] = acc / L[i][i]
    x = [0.0] * m
    for i in range(m - 1, -1, -1):
        acc = tmp[i]
        for q in range(i + 1, m):
            acc -= L[q][i] * x[q]
        x[i] = acc / L[i][i]
    return x


def _parts(out, c, Q, alpha, k, fit_b):
    """``(f, grad, H)`` (lists) of the subproblem from the sums ``out`` at ``c``."""
    m = k + 1
    out = out.tolist()
    grad = out[1:1 + m]
    H = [[0.0] * m for _ in range(m)]
    q = 1 + m
    for j in range(m):
        for l in range(j, m):
            H[j][l] = H[l][j] = out[q]
            q += 1
    f = out[0]
    Ql = Q.tolist()
    cl = c.tolist()
    for j in range(k):
        qc = 0.0
        for l in range(k):
            qc += Ql[j][l] * cl[l]
            H[j][l] += alpha * Ql[j][l]
        grad[j] += alpha * qc
        f += 0.5 * alpha * cl[j] * qc
    if not fit_b:
        grad[k] = 0.0
        for j in range(m):
            H[j][k] = 0.0
            H[k][j] = 0.0
        H[k][k] = 1.0
    return f, grad, H


def _newton_step(grad, H, convex, curvature):
    """Newton's step on the subproblem; returns ``(ok, step, slope, gnorm, trace)``.

    A relative ridge of 1e-12 keeps Newton's system solvable when two
    directions are (numerically) parallel; for the sigmoid the Hessian is
    damped until it is positive definite, from a shift on the scale of the
    loss's curvature (the directions have unit S-norm): at the margin 0 the
    sigmoid's curvature vanishes altogether. ``H`` receives the ridge.
    """
    m = len(grad)
    gnorm = 0.0
    for j in range(m):
        gnorm += grad[j] * grad[j]
    trace = 0.0
    for j in range(m):
        trace += H[j][j]
    for j in range(m):
        H[j][j] += 1e-12 * trace
    rhs = [-gj for gj in grad]
    step = _cholesky_solve(H, rhs)
    if step is None and not convex:
        shift = max(1e-8 * abs(trace), 1e-4 * curvature)
        for _ in range(60):
            Hs = [row[:] for row in H]
            for j in range(m):
                Hs[j][j] += shift
            step = _cholesky_solve(Hs, rhs)
            if step is not None:
                break
            shift *= 4.0
    ok = step is not None
    slope = 0.0
    if ok:
        for j in range(m):
            slope += grad[j] * step[j]
    return ok, step, slope, gnorm, trace


class _Subproblem:
    """The objective of the subspace problem in ``(c_0 .. c_{k-1}, b)``."""

    def __init__(self, problem, T, slots, Q):
        self.p = problem
        self.T = T
        self.slots = slots
        self.k = len(slots)
        self.Q = Q
        self.r = problem.design.empty_rows()
        self.r2 = problem.design.empty_rows()

    def parts(self, out, c):
        p = self.p
        return _parts(out, c, self.Q, p.alpha, self.k, p.fit_intercept)

    def at(self, c, b):
        p = self.p
        out = p.design.subspace_eval(p.code, self.T, self.slots, c, b, p.y, p.s,
                                     self.r, self.r2)
        return out, self.parts(out, c)


def subspace_newton(sub, c, b, init, max_steps, grad_tol, rel_gain, convex):
    """Minimise the subproblem from ``(c, b)``; ``c`` (an array) is updated.

    ``init`` holds :func:`subspace_eval`'s sums at the start ``(c, b)``;
    ``sub.r``, ``sub.r2`` are overwritten by every trial. Returns ``(f, b,
    steps, fresh, sum_r)``: ``fresh`` tells whether ``sub.r``, ``sub.r2`` (and
    ``sum_r``) belong to the returned point, i.e. whether its last trial was
    accepted. Each step is Newton's (a gradient step scaled by the Hessian's
    trace when the Hessian is not positive definite) with Armijo
    backtracking; at most ``max_steps`` accepted steps.
    """
    k = sub.k
    fit_b = sub.p.fit_intercept
    curvature = sub.p.curvature
    f, grad, H = sub.parts(init, c)
    f_start = f
    fresh = False
    sum_r = 0.0
    steps = 0
    while steps < max_steps:
        ok, step, slope, gnorm, trace = _newton_step(grad, H, convex, curvature)
        if math.sqrt(gnorm) <= grad_tol:
            break
        rounding = 1e-15 * abs(f)
        if ok and slope < 0.0 and -slope <= rounding:
            # Newton's predicted decrease is below the rounding of f, so the
            # line search cannot judge the step; near the minimiser of a
            # convex subproblem the full Newton step is safe, and it is
            # taken when it shrinks the gradient (else: converged)
            if steps == 0:
                c_new = c + np.asarray(step[:k])
                b_new = b + step[k] if fit_b else b
                out, (f_new, grad_n, _) = sub.at(c_new, b_new)
                if sum(v * v for v in grad_n) < gnorm \
                        and f_new <= f + 1e2 * rounding:
                    c[:] = c_new
                    b = b_new
                    f = f_new
                    steps = 1
                    fresh = True
                    sum_r = float(out[1 + k])
            break
        if ok and slope < 0.0 and -slope <= rel_gain * (f_start - f):
            # the predicted further decrease (half the decrement -slope) is a
            # small fraction of what this solve has already gained: more
            # steps would not change the outer iteration
            break
        if not ok or not slope < 0.0:
            # the trace bounds the largest eigenvalue of a PSD Hessian; the
            # backtracking below corrects it where it is not
            lip = max(trace, curvature) + 1e-300
            step = [-gj / lip for gj in grad]
            slope = -gnorm / lip
        step_c = np.asarray(step[:k])
        lam = 1.0
        accepted = False
        for _ in range(30):
            c_new = c + lam * step_c
            b_new = b + lam * step[k] if fit_b else b
            out, (f_new, grad_n, H_n) = sub.at(c_new, b_new)
            fresh = False
            if f_new <= f + 1e-4 * lam * slope:
                accepted = True
                fresh = True
                sum_r = float(out[1 + k])
                break
            lam *= 0.5
        if not accepted:
            break
        steps += 1  # accepted steps only: none means no progress (stalled)
        gain = f - f_new
        c[:] = c_new
        b = b_new
        f = f_new
        grad, H = grad_n, H_n
        if gain <= 1e-15 * abs(f):
            break
    return f, b, steps, fresh, sum_r


class SubspaceSolver(Solver):
    """``gdnp`` with the Rayleigh--Ritz step (``direction_step="subspace"``)."""

    name = "gdnp"
    chunked = True

    def __init__(self, problem, options):
        super().__init__(problem, options)
        p = problem
        metric = options.metric
        if metric not in METRICS:
            raise ValueError(f"metric must be one of {METRICS}; got {metric!r}.")
        # a wide design (d >= n) with a penalty: the Hessian in sample space
        # (an n x n matrix of X X^T: not for rows in chunks on a cluster)
        self.woodbury = (metric in ("auto", "hessian") and p.alpha > 0
                         and p.n_features + 1 > p.n_samples
                         and p.n_samples <= MAX_METRIC_FEATURES
                         and not p.design.chunked)
        auto = metric == "auto"
        if auto:
            metric = ("hessian" if p.n_features <= MAX_METRIC_FEATURES
                      or self.woodbury else "diagonal")
        if metric == "identity" and p.code == SIGMOID:
            raise ValueError(
                "direction_step='subspace' with metric='identity' needs a "
                "convex loss: its subproblem is solved by Newton's method, and "
                "the sigmoid loss is not convex. Use a curvature metric "
                "(metric='auto') or direction_step='paper' with loss='sigmoid'."
            )
        self.metric = metric
        self.n_search = int(options.n_bisection)
        self.g_cap = np.inf if p.code == SQUARED else MAX_SCALE
        self.search_tol = 1e-3 * p.tol
        d = p.n_features
        D = p.design  # the per-row vectors are the design's (row chunks too)
        self.t = D.empty_rows()
        self.r = D.empty_rows()
        self.r2 = D.empty_rows()
        self.G = np.empty(d)
        self.Sw = np.empty(d)
        self.gw = np.empty(d)
        self.tg = D.empty_rows()
        self.gr = np.empty(d)
        self.tgr = D.empty_rows()
        # the margins of the subspace's (at most three) directions
        self.T = D.full_rows(0.0, 3)
        self.p_dir = np.zeros(d)
        self.tp = D.full_rows(0.0)
        self.have_p = False
        self.err_t = EPS
        self.err_p = np.inf
        self.reuse = False
        self.edge = 0
        self.newton_steps = 0
        self.iteration = 0
        # the metric, and a model of what forming it and an iteration cost
        # (a function of the shape only: refresh decisions, and so the fit,
        # do not depend on timings or the number of threads)
        self.factor = None
        self.factor_age = None
        self.metric_cost, self.step_cost = _costs(p, self.woodbury)
        # "auto" on a shape whose metric costs many iterations: start with
        # the gradient's own direction (M = I) and form the metric once the
        # observed rate says it pays (see _refresh_pays)
        self.deferred = (auto and metric == "hessian" and not self.woodbury
                         and p.code == SOFTPLUS
                         and self.metric_cost > DEFER_METRIC * self.step_cost)
        self.n_metrics = 0
        self.ratios = []
        self.prev_decrement = None
        self._newton_direction = None
        self._metric_pending = False

    # -- start ---------------------------------------------------------------

    def start(self, coef, intercept, random_state):
        p = self.problem
        self.b = float(intercept)
        if coef is None and not p.convex:
            # the sigmoid's objective is stationary where w~ = 0 and the
            # intercept predicts the majority class, and a local search from
            # w~ = 0 can end there (measured: one of iris's one-vs-rest
            # problems, accuracy 0.67). Its convex surrogate, logistic
            # regression with the same penalty, has one minimiser, a few
            # Newton steps away: start from that.
            coef, intercept = self._surrogate_start(intercept, random_state)
            self.b = float(intercept)
        if coef is not None:
            # a warm start is often near its optimum, where the Hessian's
            # decrement stops the fit at once: no deferral from there
            self.deferred = False
        if coef is None and self.metric != "identity":
            # no direction yet: w~ = 0
            self.w = np.zeros(p.n_features)
            self.g = 0.0
            self.t = p.design.full_rows(0.0)
            self.f = None
            return
        if coef is None:
            w = p.random_direction(random_state)
            scale = 1.0
            if w is None:
                self.w = np.zeros(p.n_features)
                self.g = 0.0
                self.t = p.design.full_rows(0.0)
                self.f = None
                return
        else:
            nS = p.s_norm(coef)
            w, scale = coef / nS, nS
        self.w = np.array(w, dtype=np.float64)
        p.margins(self.w, self.t)
        nS_sq = p.design.weighted_sq_norm(self.t, p.s)
        pen = dot(self.w, self.w) / nS_sq
        g, b, f, steps, edge = scale_search(
            p.code, self.t, 1.0 / math.sqrt(nS_sq), p.y, p.s, p.alpha, pen,
            p.fit_intercept, float(scale), self.b, self.n_search, p.curvature,
            self.search_tol, np.inf, self.g_cap)
        self.g, self.b, self.f, self.edge = g, b, f, edge
        self.newton_steps += steps

    def _surrogate_start(self, intercept, random_state):
        """The logistic-regression solution of this problem's data and penalty."""
        from ._base import Problem

        p = self.problem
        q = Problem(p.design, p.y, p.s, SOFTPLUS, p.alpha, p.fit_intercept,
                    SURROGATE_TOL)
        q._lipschitz = p._lipschitz
        sub = SubspaceSolver(q, self.options)
        sub.start(None, intercept, random_state)
        for _ in range(SURROGATE_MAX_ITER):
            if sub.evaluate() != Status.RUNNING or sub.step() != Status.RUNNING:
                break
        coef, b = sub.result()
        if not np.any(coef):
            return None, intercept
        return coef, b

    # -- evaluate ------------------------------------------------------------

    def evaluate(self):
        p = self.problem
        g, b = self.g, self.b
        has_dir = g != 0.0
        if has_dir:
            nS_sq = p.design.weighted_sq_norm(self.t, p.s)
            a = g / math.sqrt(nS_sq)
        else:
            nS_sq, a = 1.0, 0.0
        # one pass: the loss at the margins a t + b (w~ = 0: all b), r = s l',
        # r2 = s l'' and both backward products; with `reuse` the subspace
        # step left r, r2 of this iterate, and only the products are formed
        # S w enters only the identity metric's direction (bn_chain)
        f, gb, _, _, _, _ = p.design.loss_rmatvec2(
            p.code, self.t, a, b, p.y, p.s, self.r, self.r2, self.G,
            self.Sw if self.metric == "identity" else None,
            have_r=self.reuse)
        if self.reuse:
            f, gb = self.f_data, self.sum_r
            self.reuse = False
        self.f_data = f
        nW_sq = dot(self.w, self.w)
        self.G += p.alpha * a * self.w
        f += 0.5 * p.alpha * a * a * nW_sq
        if not p.fit_intercept:
            gb = 0.0
        gn = original_grad_norm(self.G, gb, p.xbar, p.fit_intercept)
        if not (np.isfinite(f) and np.isfinite(gn)):
            return Status.DIVERGED
        self._record(f, gn, math.sqrt(nW_sq))
        self.f, self.gb, self.nS_sq, self.nW_sq, self.a = f, gb, nS_sq, nW_sq, a
        if self.edge == 2:
            return Status.SCALE_CAP
        decrement = None
        if self.metric != "identity":
            if p.tol > 0.0:
                self._update_metric()
                decrement = self._decrement()
            else:
                # tol = 0 stops only at a zero gradient, without a decrement:
                # the metric is formed when a step needs it, and not after
                # the fit's last iterate (a Hessian wasted per fit run for a
                # fixed max_iter, as benchopt runs them); the same metric at
                # the same iterate, so the same fit
                self._metric_pending = True
        # still deferred: the observed rate (once there is one) predicts a
        # gap above tol, and the stopping test's own decrement would form a
        # Hessian to learn that
        if p.stopping.converged(f, self.G, gb, self._margins, decrement,
                                self.deferred):
            return Status.CONVERGED
        return Status.RUNNING

    def _margins(self):
        return self.a * self.t + self.b

    # -- the metric ----------------------------------------------------------

    def _refresh_pays(self):
        """Whether forming the metric at this iterate is worth its cost."""
        if self.factor is None:
            if not self.deferred:
                return True
            # the iterations so far used M = I: their objective decreases
            # give the rate the metric competes with, and the gap they
            # predict says when the stopping test needs it (a decrement at
            # this iterate certifies the stop)
            tol = self.problem.tol
            ratios, rel = _observed_rate(self.loss_curve, self.problem.stopping)
            if tol > 0.0:
                target = tol
            else:
                target = PLANNING_TOL if rel > PLANNING_TOL else 1e-16
            if not (rel <= tol or refresh_pays(self.metric_cost, self.step_cost,
                                               ratios, rel, target)):
                return False
            self.deferred = False
            return True
        if self.metric == "S":
            return False
        if self.metric == "diagonal":
            return True
        return refresh_pays(self.metric_cost, self.step_cost, self.ratios,
                            self._last_decrement_rel, self.problem.tol)

    def _update_metric(self):
        if not self._refresh_pays():
            if self.factor is not None:
                self.factor_age += 1
            return
        self._form_metric()

    def _form_metric(self):
        p = self.problem
        h = curvature_weights(p, self.r, self.r2)
        if self.metric == "diagonal":
            self.factor = DiagonalFactor(p, h)
        elif self.woodbury:
            # the stale factor's array is reused (it is not read again)
            self.factor = WoodburyFactor(p, h, self.factor)
        else:
            self.factor = metric_factor(p, hessian(p, h))
        self.factor_age = 0
        self.n_metrics += 1
        self.ratios = []
        self.prev_decrement = None

    def _decrement(self):
        """The stopping estimate from the metric.

        Newton's decrement when the metric was formed at this iterate. A
        stale metric's decrement is no bound at all (the Hessian at the start
        of a separable problem is far larger than later ones), so it only
        says when to look: once it is below the target, the decrement is
        recomputed with the Hessian at this iterate, which then becomes the
        metric of the next step ("S" and "diagonal" keep theirs).
        """
        p = self.problem
        if self.factor is None:  # deferred: no decrement until the metric
            self._newton_direction = None
            return None
        solved = []
        dec = newton_decrement(p, self.G, self.gb, self.factor, solved)
        self._newton_direction = solved[0] if solved else None
        if self.prev_decrement is not None and self.prev_decrement > 0:
            self.ratios.append(dec / self.prev_decrement)
        self.prev_decrement = dec
        self._last_decrement_rel = dec / p.stopping.scale(self.f)
        if self.factor_age == 0 and self.metric == "hessian":
            return dec
        target = p.tol * p.stopping.scale(self.f)
        if not dec <= target:
            return dec
        if self.metric == "hessian":
            self._form_metric()
            solved = []
            dec = newton_decrement(p, self.G, self.gb, self.factor, solved)
            self._newton_direction = solved[0] if solved else None
            self.prev_decrement = dec
            return dec
        return p.stopping.estimate(self.G, self.gb, self._margins())

    # -- step ----------------------------------------------------------------

    def step(self):
        status = self._step()
        self.iteration += 1
        return status

    def _direction(self):
        """The descent direction ``v_1`` (into ``self.gw``) and its margins."""
        p = self.problem
        if self.metric == "identity":
            bn_chain(self.G, self.w, self.g, self.Sw, self.nS_sq, self.gw)
        elif self.factor is None:  # the metric deferred: M = I
            np.negative(self.G, out=self.gw)
        else:
            # the solve of the stopping test's decrement, at this iterate
            v = self._newton_direction
            if v is None:
                g = np.append(self.G, self.gb) if p.fit_intercept else self.G
                v = self.factor.solve(g)
            self.gw[:] = -v[:p.n_features]
        p.margins(self.gw, self.tg)

    def _gradient_slot(self):
        """Whether the third direction is the gradient, not the last move.

        When ``v_1`` is Newton's direction from a Hessian formed at this
        iterate, the previous move adds little (Newton's step already
        accounts for the curvature it would capture) and the gradient, the
        direction of the first-order methods, complements it where the
        curvature changes along the step. Measured on benchopt's simulated
        200 x 500: 4 steps to a relative suboptimality of 1e-6 at lambda =
        0.01 instead of 5 (with the solved-through first step), and on
        breast_cancer 5 iterations instead of 6 at the defaults; the same
        counts on a9a, 1000 x 10 and make_classification. A stale metric, the
        deferred one (``v_1`` is the gradient then), ``"S"`` and
        ``"diagonal"`` keep the previous move: there it is the momentum that
        makes up for the metric (as in LOBPCG). Least squares neither: its
        Newton step is exact, and a second direction only adds the rounding
        of a two-direction solve (a noiseless fit ended at 1e-21 instead of
        1e-23, with an estimated gap above ``tol``).
        """
        return (self.metric == "hessian" and self.problem.code != SQUARED
                and self.factor is not None and self.factor_age == 0)

    def _step(self):
        p = self.problem
        g = self.g
        has_dir = g != 0.0
        if self._metric_pending:
            self._metric_pending = False
            self._update_metric()
            self._decrement()
        self._direction()
        # unit S-norm for the direction, as for w and p: at its raw size the
        # subproblem's gradient along it scales with |grad|^2, falls below the
        # Newton solve's tolerance (and its curvature below the ridge) long
        # before the outer gradient reaches tol, and the solver stalls
        if not _to_unit_s_norm(p.design, self.gw, self.tg, p.s):
            return Status.STALLED
        have_p = self.have_p
        # the margins of the directions in the slots of T: 0 the current
        # direction v_0, 1 the descent direction v_1, 2 the previous move or
        # the gradient
        T = self.T
        slots = [1]
        vecs = {1: self.gw}
        errs = {1: EPS}
        inv = 1.0 / math.sqrt(self.nS_sq) if has_dir else 0.0
        if has_dir:
            slots.insert(0, 0)
            vecs[0] = self.w * inv
            errs[0] = self.err_t
        third, t3 = None, self.tp
        if self._gradient_slot():
            np.negative(self.G, out=self.gr)
            p.margins(self.gr, self.tgr)
            if _to_unit_s_norm(p.design, self.gr, self.tgr, p.s):
                third, t3, err3 = self.gr, self.tgr, EPS
        if third is None and have_p:
            third, err3 = self.p_dir, self.err_p
        if third is not None:
            slots.append(2)
            vecs[2] = third
            errs[2] = err3
        p.design.fill_subspace(T, self.t, inv, self.tg, t3, has_dir,
                               third is not None)
        # the subproblem's derivatives at the current iterate, from the
        # evaluation's per-row l' and l'': no transcendental pass; with them
        # the directions' S-Gram matrix
        init, gram = p.design.subspace_eval(p.code, T, slots,
                                            np.zeros(len(slots)), self.b, p.y,
                                            p.s, self.r, self.r2, cached=True)
        keep = [slots[j] for j in _independent(gram[slots][:, slots])]
        if len(keep) < len(slots):
            # nearly parallel directions (d = 1, or a converged iterate) make
            # the solve's coefficients large and of opposite signs: the
            # combined margins would lose the digits that cancel (with v_1
            # along v_0 the step is a search of the length alone)
            for j in slots:
                if j not in keep:
                    T[:, j] = 0.0
            slots = keep
            init, _ = p.design.subspace_eval(p.code, T, slots,
                                             np.zeros(len(slots)), self.b, p.y,
                                             p.s, self.r, self.r2, cached=True)
        k = len(slots)
        vecs = [vecs[j] for j in slots]
        errs = [errs[j] for j in slots]
        Q = np.empty((k, k))
        for j in range(k):
            for l in range(j, k):
                Q[j, l] = Q[l, j] = dot(vecs[j], vecs[l])
        if has_dir and slots[0] == 0:
            # the exact Gram entries of v_0 (its norm is 1 only up to rounding)
            Q[0, 0] = self.nW_sq * inv * inv
            for j in range(1, k):
                Q[0, j] = Q[j, 0] = dot(self.w, vecs[j]) * inv
        c = np.zeros(k)
        if has_dir and slots[0] == 0:
            c[0] = g
        sub = _Subproblem(p, T, slots, Q)
        init[0] = self.f_data
        f_new, b_new, steps, fresh, sum_r = subspace_newton(
            sub, c, self.b, init, self.n_search, self.search_tol,
            SUBSPACE_REL_GAIN if has_dir or not self.woodbury
            else FIRST_REL_GAIN, p.convex)
        # the data term of f_new (the penalty is added to the sums)
        pen = 0.0
        for j in range(k):
            for l in range(k):
                pen += c[j] * Q[j, l] * c[l]
        f_data_new = f_new - 0.5 * p.alpha * pen
        self.newton_steps += steps
        # a step may leave f unchanged up to its rounding (see subspace_newton)
        if steps == 0 or not f_new <= self.f + 1e-13 * abs(self.f):
            return Status.STALLED
        # the move p = w~_new - w~_old and its margins, from the same
        # coefficients: near convergence the move is tiny, and forming it as
        # a difference of the two iterates would leave p and its margins
        # inconsistent after the renormalisation below
        dc = _move(c, g, has_dir and slots[0] == 0)
        # (T's columns outside `slots` are zero: filled so, or zeroed when
        # dropped above, as combine_pair needs)
        tt, tp, nn_sq, move_sq = p.design.combine_pair(T, slots, c, dc, p.s)
        g_new = math.sqrt(nn_sq)
        if not (g_new > 0.0 and np.isfinite(g_new)):
            return Status.STALLED
        edge = 0
        if g_new > self.g_cap:
            # keep the direction, stop the scale at the cap (the caller stops)
            edge = 2
            c = c * (self.g_cap / g_new)
            g_new = self.g_cap
            dc = _move(c, g, has_dir and slots[0] == 0)
            tt, tp, _, move_sq = p.design.combine_pair(T, slots, c, dc, p.s)
        self.t = tt / g_new
        w_new = _combine_vectors(vecs, c) / g_new
        p_new = _combine_vectors(vecs, dc)
        self.w = w_new
        # how far the combined margins may be from X_c times the combined
        # vectors (each direction has unit S-norm and a known relative error;
        # the combination adds a rounding of its terms): a move far smaller
        # than its terms is a difference of nearly equal vectors, whose
        # normalisation would blow that error up, and a move built on an
        # inexact previous move is as inexact. Drop the move, or recompute
        # the margins from X, before the error matters.
        spread = float(np.abs(c) @ (np.asarray(errs) + EPS))
        self.err_t = spread / g_new
        move = math.sqrt(move_sq)
        err_p = float(np.abs(dc) @ (np.asarray(errs) + EPS)) / move \
            if move > 0 else np.inf
        # after the first step from w~ = 0 the move is the iterate itself
        self.have_p = (has_dir and err_p <= MAX_MARGIN_ERROR
                       and _to_unit_s_norm(p.design, p_new, tp, p.s, move_sq))
        self.err_p = err_p
        self.p_dir, self.tp = p_new, tp
        refresh = ((self.iteration + 1) % REFRESH_EVERY == 0
                   or self.err_t > MAX_MARGIN_ERROR)
        if refresh:
            p.margins(self.w, self.t)
            self.err_t = EPS
            if self.have_p:
                p.margins(self.p_dir, self.tp)
                self.err_p = EPS
        self.g, self.b, self.f, self.edge = g_new, b_new, f_new, edge
        # r, r2 hold l', l'' at the new iterate when its trial was the last one
        # evaluated: the next iteration's gradient needs no margin pass then
        self.reuse = fresh and edge == 0 and not refresh
        if self.reuse:
            self.r, sub.r = sub.r, self.r
            self.r2, sub.r2 = sub.r2, self.r2
        self.f_data, self.sum_r = f_data_new, sum_r
        return Status.RUNNING

    def result(self):
        p = self.problem
        if self.g == 0.0:
            return np.zeros(p.n_features), self.b
        # ||w||_S from the margins t, which track X_c w to within err_t (at
        # most MAX_MARGIN_ERROR, else they are recomputed): the norm every
        # evaluation used, so the coefficients are those whose objective was
        # recorded, without the pass over X that bn_coef makes (26 ms of a
        # 370 ms fit on dense 100000 x 400)
        norm = math.sqrt(p.design.weighted_sq_norm(self.t, p.s))
        return self.g * self.w / norm, self.b

    @property
    def scale(self):
        return self.g


#: the cost model of :func:`_costs`, in nanoseconds on one thread; only
#: their ratios matter. Measured on the development machine by
#: ``benchmarks/bench_cost_model.py``, which prints the model next to the
#: measured costs of a metric and of an iteration (each within about 30% on
#: a9a and dense sets from 200 x 500 to 100000 x 400; their ratio within
#: 1.5x but for a9a's first iterations: see benchmarks/README.md).
NS_PER_CSR_PAIR = 1.7       # CSR Hessian: one product of two stored values
NS_PER_DENSE_PAIR = 0.05    # dense Hessian by BLAS syrk, per entry pair
NS_PER_HESSIAN_VALUE = 2.0  # dense Hessian: centering and scaling a value
NS_PER_FLOP_FACTOR = 0.03   # Cholesky factorisation
NS_PER_METRIC = 50e3        # a metric's fixed cost (calls, small algebra)
NS_PER_CSR_VALUE = 1.4      # one stored value in a pass over CSR X
NS_PER_DENSE_VALUE = 0.3    # one value in a pass over dense X
NS_PER_ROW = 30.0           # an iteration's O(n) work (margins, Newton trials)
NS_PER_ITERATION = 150e3    # an iteration's fixed cost (the subspace solve)


#: "auto" defers the metric while it costs more than this many iterations:
#: the two or three iterations that measure the rate without it are then at
#: most a fraction of one metric's cost
DEFER_METRIC = 10.0

#: the estimators' default ``tol``: with ``tol=0`` the deferred metric is
#: formed when it pays for this accuracy, and beyond it for machine
#: precision (measured on benchopt's simulated 100000 x 400, lmbd = 0.01:
#: planning for 1e-16 from the start forms a Hessian at iteration 5 and
#: reaches 1e-6 after 9 iterations and the Hessian, 24 iterations' time,
#: where M = I gets there in 13); a formed metric's refreshes plan for
#: machine precision, which on a9a pays at 1e-6 too
PLANNING_TOL = 1e-6


def _observed_rate(curve, stopping):
    """The linear rate of the objective values ``curve`` and the gap it predicts.

    ``ratios`` are the last two ratios of successive decreases (none before
    two decreases), the gap the geometric sum of the decreases still to
    come, relative to the stopping test's scale.
    """
    if len(curve) < 3:
        return [], np.inf
    ratios = []
    for i in range(max(2, len(curve) - 2), len(curve)):
        prev, last = curve[i - 2] - curve[i - 1], curve[i - 1] - curve[i]
        ratios.append(last / prev if prev > 0 and last >= 0 else 1.0)
    ratio = max(ratios)
    if not ratio < 1.0:
        return ratios, np.inf
    gap = (curve[-2] - curve[-1]) * ratio / (1.0 - ratio)
    return ratios, gap / stopping.scale(curve[-1])


def refresh_pays(metric_cost, step_cost, ratios, rel_decrement, tol):
    """Whether forming a fresh metric costs less than going on with the stale.

    A refresh costs about what it cost last time, a stale iteration what the
    last ones cost. Newton from a fresh metric needs about two more
    iterations; the stale metric, whose decrement falls by ``ratio`` an
    iteration, about ``log(tol / dec) / log(ratio)``.
    """
    if metric_cost <= 2.0 * step_cost:
        return True
    if not ratios:
        return False
    ratio = max(ratios[-2:])
    if ratio >= 1.0:
        return True
    target = max(tol, 1e-16)
    if not rel_decrement > target:
        return False
    stale_iters = math.log(target / rel_decrement) / math.log(max(ratio, 1e-300))
    return metric_cost + 2.0 * step_cost < stale_iters * step_cost


def _costs(problem, woodbury=False):
    """Modelled cost of forming the metric, and of one iteration without it."""
    D = problem.design
    n, d = D.shape
    if woodbury:
        # C K C^T and its factorisation; K itself is formed once per fit
        one_pass = (NS_PER_CSR_VALUE if D.sparse else NS_PER_DENSE_VALUE) \
            * D.nnz
        metric = 2 * NS_PER_DENSE_VALUE * n * n \
            + NS_PER_FLOP_FACTOR * n ** 3 / 3.0 + NS_PER_METRIC
        return metric, 2.0 * one_pass + NS_PER_ROW * n + NS_PER_ITERATION
    if D.sparse:
        hess = NS_PER_CSR_PAIR * D.row_pair_count()
        one_pass = NS_PER_CSR_VALUE * D.nnz
    else:
        hess = (NS_PER_DENSE_PAIR * n * d * (d + 1) / 2.0
                + NS_PER_HESSIAN_VALUE * n * d)
        one_pass = NS_PER_DENSE_VALUE * n * d
    hess += NS_PER_FLOP_FACTOR * (d + 1.0) ** 3 / 3.0 + NS_PER_METRIC
    return hess, 2.0 * one_pass + NS_PER_ROW * n + NS_PER_ITERATION


#: a direction whose S-norm residual against the ones before it is below
#: this (relative to its own norm) is left out of the subspace
INDEPENDENCE = 1e-8


def _independent(G):
    """Indices of the columns kept by Gram--Schmidt on the Gram matrix ``G``.

    In order: a column is kept when the squared S-norm of its component
    orthogonal to the kept ones is at least :data:`INDEPENDENCE` times its
    own (a Cholesky factorisation of the kept columns' Gram matrix, grown a
    column at a time).
    """
    G = G.tolist()
    k = len(G)
    L = []
    keep = []
    for j in range(k):
        gjj = G[j][j]
        if not gjj > 0.0:
            continue
        row = []
        res = gjj
        for a, ka in enumerate(keep):
            acc = G[ka][j]
            for q in range(a):
                acc -= L[a][q] * row[q]
            row.append(acc / L[a][a])
            res -= row[a] * row[a]
        if res > INDEPENDENCE * gjj:
            L.append(row + [math.sqrt(res)])
            keep.append(j)
    return keep


def _move(c, g, from_iterate):
    """The move's coefficients: ``c`` less the iterate's ``g`` on ``v_0``."""
    dc = c.copy()
    if from_iterate:
        dc[0] = c[0] - g
    return dc


def _combine_vectors(vecs, c):
    out = vecs[0] * c[0]
    for j in range(1, len(vecs)):
        out = out + vecs[j] * c[j]
    return out


class DiagonalFactor:
    """The Hessian's diagonal (and the intercept's curvature) as a metric."""

    def __init__(self, problem, h):
        p = problem
        total = float(h.sum())  # (a method: h may be in row chunks)
        xb = p.xbar
        hx = p.design.rmatvec(h, np.empty(p.n_features)) + xb * total
        sq = p.design.column_sq_means(h) + p.alpha
        diag = sq - 2.0 * xb * hx + total * xb * xb
        # a column is null when constant up to the rounding of its centering,
        # judged against its own uncentered energy: against the largest
        # entry, a column in units 1e-7 of the others was dropped
        self.inv = np.where(diag > 1e-12 * sq, 1.0 / np.maximum(diag, 1e-300),
                            0.0)
        self.inv_b = 1.0 / total if total > 0 else 0.0
        self.fit_b = p.fit_intercept
        self.empty = not (self.inv.any() or self.inv_b)

    def solve(self, g):
        if self.fit_b:
            return np.append(self.inv * g[:-1], self.inv_b * g[-1])
        return self.inv * g
