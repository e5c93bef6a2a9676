r"""Multinomial logistic regression: gdnp's subspace step class by class.

The objective, in centered coordinates, with ``K`` classes, margins
``z_ik = x_ci^T w~_k + b_k`` and the softmax loss of
:mod:`skbnorm.objectives._softmax`,

.. math::

    F(\tilde W, b) = \sum_i s_i\, l(z_i, y_i)
    + \frac{\alpha}{2} \sum_k \lVert \tilde w_k \rVert^2 .

Each class's coefficient vector keeps its own length and direction: the
subspace of an iteration is, for every class ``k``, ``span{w~_k, v_k,
p_k}`` -- its current direction (the coefficient is its length), the
descent direction ``v_k = M_k^{-1} grad_k F`` and its previous move -- and
the intercepts; Newton's method minimises the objective over all
``4K`` coefficients at once, on cached margins, so the classes' coupling
through the softmax is solved exactly in the subspace. ``M_k`` is class
``k``'s diagonal block of the Hessian, ``X_c^T diag(s p_k (1 - p_k)) X_c
+ alpha I``: the full Hessian's cross-class blocks cost ``K/2`` times more
to form and the subspace solve recovers their effect.

The measured alternative, one length shared by all classes (the subspace
``span{W~, V, P}`` of ``K x d`` matrices), needed more iterations on every
set tried (see the user guide), for a subspace solve that is cheaper only
when ``K`` is large.

The metric is the whole Hessian (Newton's direction, all classes coupled)
up to :data:`~._metric.MAX_METRIC_FEATURES` coefficients ``K (d + 1)``,
and its diagonal blocks beyond; the stopping test is Newton's decrement in
it.
"""

import math

import numpy as np

from ..objectives._softmax import residuals, softmax_pass, softmax_subspace_eval
from ._base import Status
from ._metric import MAX_METRIC_FEATURES, Factor
from ._stopping import FLOOR
from ._subspace import (
    EPS,
    MAX_MARGIN_ERROR,
    NS_PER_DENSE_PAIR,
    NS_PER_FLOP_FACTOR,
    REFRESH_EVERY,
    SUBSPACE_REL_GAIN,
    _costs,
    _independent,
)


class MultinomialProblem:
    """The data of a multinomial fit, built once.

    Parameters
    ----------
    design : Design
        ``X`` with its centering.
    y : ndarray of int of shape (n_samples,)
        Class indices ``0 .. n_classes - 1``.
    n_classes : int
        ``K``.
    s : ndarray of shape (n_samples,)
        Normalised sample weights.
    alpha : float
        The penalty on the weighted mean loss.
    fit_intercept : bool
        Whether the intercepts are free.
    tol : float
        The relative suboptimality at which the fit stops.
    """

    convex = True
    curvature = 0.5  # sup of the softmax Hessian's largest eigenvalue

    def __init__(self, design, y, n_classes, s, alpha, fit_intercept, tol):
        self.design = design
        self.xbar = design.xbar
        self.y = np.ascontiguousarray(y, dtype=np.int64)
        self.K = int(n_classes)
        self.s = s
        self.alpha = float(alpha)
        self.fit_intercept = bool(fit_intercept)
        self.tol = float(tol)
        self.n_samples, self.n_features = design.shape
        self.f_null = math.log(self.K)
        self.decrement = np.nan

    def scale(self, f):
        return max(abs(f), FLOOR * self.f_null, 1e-300)

    def margins(self, W, out=None):
        if out is None:
            out = np.empty((self.n_samples, W.shape[0]))
        return self.design.matmat(W, out)

    def class_weights(self):
        """``sum_i s_i [y_i = k]``."""
        return np.bincount(self.y, weights=self.s, minlength=self.K)

    def initial_intercept(self):
        """The intercepts of ``W~ = 0``: the log class frequencies, centered."""
        if not self.fit_intercept:
            return np.zeros(self.K)
        freq = np.maximum(self.class_weights(), 1e-12)
        b = np.log(freq)
        return b - b.mean()

    def block_metric(self, P, k):
        """Class ``k``'s diagonal block of the Hessian, factored."""
        h = self.s * P[:, k] * (1.0 - P[:, k])
        M = self.design.hessian(h, self.fit_intercept)
        d = self.n_features
        M[np.arange(d), np.arange(d)] += self.alpha
        return Factor(M)

    def full_hessian(self, P):
        """The whole Hessian in the class-major order ``(w~_k, b_k)``.

        ``sum_i s_i (diag(p_i) - p_i p_i^T) (x) x~_i x~_i^T`` with
        ``x~_i = (x_ci, 1)``: ``K`` weighted Gram matrices on the diagonal
        blocks, minus ``B^T B`` for the rows ``B_i = sqrt(s_i) p_i (x) x~_i``,
        accumulated by BLAS over chunks of rows (dense ``X``; CSR rows are
        expanded one chunk at a time). The softmax's common shift of the
        intercepts, a null direction, is given the mean curvature so that
        the matrix is definite; the gradient has no component along it.
        """
        K, d = self.K, self.n_features
        fit_b = self.fit_intercept
        m1 = d + 1 if fit_b else d
        H = np.zeros((K * m1, K * m1))
        for k in range(K):
            blk = self.design.hessian(self.s * P[:, k], fit_b)
            H[k * m1:(k + 1) * m1, k * m1:(k + 1) * m1] = blk
        H -= _kron_gram(self.design, P, self.s, fit_b)
        idx = np.arange(K * m1).reshape(K, m1)[:, :d].ravel()
        H[idx, idx] += self.alpha
        if fit_b:
            null = np.zeros(K * m1)
            null[d::m1] = 1.0 / math.sqrt(K)
            H += (np.trace(H) / H.shape[0]) * np.outer(null, null)
        return H


#: rows per chunk of the expanded rows ``p_i (x) x~_i`` of the full Hessian
KRON_CHUNK_ROWS = 1024


def _kron_gram(design, P, s, fit_b):
    """``sum_i s_i (p_i p_i^T) (x) (x~_i x~_i^T)`` by BLAS syrk over row chunks."""
    from scipy.linalg.blas import dsyrk

    n, d = design.shape
    K = P.shape[1]
    m1 = d + 1 if fit_b else d
    C = np.zeros((K * m1, K * m1), order="F")
    xbar = design.xbar
    for lo in range(0, n, KRON_CHUNK_ROWS):
        hi = min(lo + KRON_CHUNK_ROWS, n)
        if design.sparse:
            X = design.X
            rows = np.zeros((hi - lo, d))
            for r, i in enumerate(range(lo, hi)):
                a, z = X.indptr[i], X.indptr[i + 1]
                rows[r, X.indices[a:z]] = X.data[a:z]
        else:
            rows = np.asarray(design.X[lo:hi], dtype=np.float64)
        Xt = rows - xbar
        if fit_b:
            Xt = np.column_stack([Xt, np.ones(hi - lo)])
        wp = np.sqrt(s[lo:hi])[:, None] * P[lo:hi]
        B = (wp[:, :, None] * Xt[:, None, :]).reshape(hi - lo, K * m1)
        C = dsyrk(1.0, B.T, beta=1.0, c=C, trans=0, lower=0, overwrite_c=1)
    C = np.triu(C)
    return C + np.triu(C, 1).T


def _stack(G, gb, fit_b):
    """The gradient in the class-major order ``(w~_k, b_k)`` of the Hessian."""
    if not fit_b:
        return G.ravel()
    return np.column_stack([G, gb]).ravel()


class MultinomialSolver:
    """``gdnp``'s subspace step on the multinomial problem."""

    name = "gdnp"
    has_scale = True

    def __init__(self, problem, options):
        metric = options.metric
        if metric == "identity":
            raise ValueError(
                "metric='identity' is the binary subspace step of the papers; "
                "the multinomial fit needs a curvature metric (metric='auto')."
            )
        self.problem = problem
        self.options = options
        self.metric = "hessian" if metric == "auto" else metric
        self.n_search = int(options.n_bisection)
        self.search_tol = 1e-3 * problem.tol
        self.loss_curve = []
        self.grad_norm_curve = []
        self.direction_norm_curve = []
        p = problem
        hess, one_pass_iter = _costs(p)
        m1 = p.n_features + (1 if p.fit_intercept else 0)
        # the whole Hessian where it fits (Newton's direction), else its
        # diagonal blocks; both with the same cost model as the binary step
        self.full = p.K * m1 <= MAX_METRIC_FEATURES
        if self.full:
            self.metric_cost = p.K * hess + NS_PER_DENSE_PAIR * p.n_samples \
                * (p.K * m1) ** 2 / 2.0 + NS_PER_FLOP_FACTOR * (p.K * m1) ** 3 / 3
        else:
            self.metric_cost = p.K * hess
        self.step_cost = p.K * one_pass_iter
        self.factors = None
        self.factor_age = 0
        self.ratios = []
        self.prev_decrement = None
        self.iteration = 0

    # -- start ---------------------------------------------------------------

    def start(self, coef, intercept, random_state):
        p = self.problem
        n, K, d = p.n_samples, p.K, p.n_features
        self.W = np.zeros((K, d)) if coef is None else np.array(coef, float)
        self.b = (p.initial_intercept() if intercept is None
                  else np.array(intercept, dtype=np.float64))
        self.Z = p.margins(self.W) if coef is not None else np.zeros((n, K))
        self.P = np.empty((n, K))
        self.moves = np.zeros((K, d))
        self.tmoves = np.zeros((n, K))
        self.have_p = np.zeros(K, dtype=bool)
        self.err_z = np.full(K, EPS)
        self.err_p = np.full(K, np.inf)
        self.reuse = False

    # -- evaluate ------------------------------------------------------------

    def evaluate(self):
        p = self.problem
        if not self.reuse:
            self.f_data, _ = softmax_pass(self.Z, self.b, p.y, p.s, self.P)
        self.reuse = False
        R = residuals(self.P, p.y, p.s)
        G = p.design.rmatmat(R, np.empty_like(self.W))
        G += p.alpha * self.W
        gb = R.sum(axis=0) if p.fit_intercept else np.zeros(p.K)
        f = self.f_data + 0.5 * p.alpha * float(np.sum(self.W * self.W))
        if not np.isfinite(f):
            return Status.DIVERGED
        orig = G + np.outer(gb, p.xbar)
        gn = math.sqrt(float(np.sum(orig * orig) + gb @ gb))
        self.loss_curve.append(f)
        self.grad_norm_curve.append(gn)
        self.direction_norm_curve.append(
            math.sqrt(float(np.sum(self.W * self.W))))
        self.f, self.G, self.gb = f, G, gb
        self._update_metric()
        return self._check()

    def _update_metric(self):
        if self.factors is not None and not self._refresh_pays():
            self.factor_age += 1
            return
        self._form_metric()

    def _form_metric(self):
        p = self.problem
        if self.full:
            self.factors = Factor(p.full_hessian(self.P))
        else:
            self.factors = [p.block_metric(self.P, k) for k in range(p.K)]
        self.factor_age = 0
        self.ratios = []
        self.prev_decrement = None

    def _refresh_pays(self):
        if self.metric == "S":
            return False
        if self.metric_cost <= 2.0 * self.step_cost:
            return True
        if not self.ratios:
            return False
        ratio = max(self.ratios[-2:])
        if ratio >= 1.0:
            return True
        p = self.problem
        target = max(p.tol, 1e-16)
        dec = self._last_rel
        if not dec > target:
            return False
        stale = math.log(target / dec) / math.log(max(ratio, 1e-300))
        return self.metric_cost + 2 * self.step_cost < stale * self.step_cost

    def _directions(self):
        """``M^{-1} grad F`` class by class (``K x d``)."""
        p = self.problem
        K, d = p.K, p.n_features
        if self.full:
            m1 = d + 1 if p.fit_intercept else d
            v = self.factors.solve(_stack(self.G, self.gb, p.fit_intercept))
            return -v.reshape(K, m1)[:, :d]
        V = np.empty((K, d))
        for k in range(K):
            g = np.append(self.G[k], self.gb[k]) if p.fit_intercept else self.G[k]
            V[k] = -self.factors[k].solve(g)[:d]
        return V

    def _decrement(self):
        p = self.problem
        if self.full:
            g = _stack(self.G, self.gb, p.fit_intercept)
            return 0.5 * float(g @ self.factors.solve(g))
        dec = 0.0
        for k in range(p.K):
            g = np.append(self.G[k], self.gb[k]) if p.fit_intercept else self.G[k]
            dec += 0.5 * float(g @ self.factors[k].solve(g))
        return dec

    def _check(self):
        p = self.problem
        scale = p.scale(self.f)
        dec = self._decrement()
        if self.prev_decrement:
            self.ratios.append(dec / self.prev_decrement)
        self.prev_decrement = dec
        self._last_rel = dec / scale
        p.decrement = dec
        gsq = float(np.sum(self.G * self.G) + self.gb @ self.gb)
        if gsq == 0.0:
            p.decrement = 0.0
            return Status.CONVERGED
        if not p.tol > 0 or dec > p.tol * scale:
            return Status.RUNNING
        if self.full and self.factor_age > 0 and self.metric != "S":
            # a stale metric's decrement only says when to look (see the
            # binary step): Newton's, at this iterate
            self._form_metric()
            dec = self._decrement()
            self.prev_decrement = dec
            p.decrement = dec
        return Status.CONVERGED if dec <= p.tol * scale else Status.RUNNING

    # -- step ----------------------------------------------------------------

    def step(self):
        status = self._step()
        self.iteration += 1
        return status

    def _step(self):
        p = self.problem
        n, K, d = p.n_samples, p.K, p.n_features
        V = self._directions()
        TV = p.margins(V)
        # per class: current direction, descent direction, previous move,
        # each at unit S-norm
        norms = np.sqrt(np.maximum(p.s @ (self.Z * self.Z), 0.0))
        has_dir = norms > 0
        nv = np.sqrt(np.maximum(p.s @ (TV * TV), 0.0))
        ok_v = nv > 0
        V[ok_v] /= nv[ok_v, None]
        TV[:, ok_v] /= nv[ok_v]
        kd = 3
        T = np.zeros((n, K, kd))
        D = np.zeros((K, kd, d))
        errs = np.zeros((K, kd))
        c = np.zeros((K, kd))
        for k in range(K):
            if has_dir[k]:
                T[:, k, 0] = self.Z[:, k] / norms[k]
                D[k, 0] = self.W[k] / norms[k]
                c[k, 0] = norms[k]
                errs[k, 0] = self.err_z[k]
            if ok_v[k]:
                T[:, k, 1] = TV[:, k]
                D[k, 1] = V[k]
                errs[k, 1] = EPS
            if self.have_p[k]:
                T[:, k, 2] = self.tmoves[:, k]
                D[k, 2] = self.moves[k]
                errs[k, 2] = self.err_p[k]
            # nearly parallel directions within a class lose the digits that
            # cancel (see the binary step): zero the dependent ones
            Gk = np.array([[float(p.s @ (T[:, k, a] * T[:, k, q]))
                            for q in range(kd)] for a in range(kd)])
            keep = set(_independent(Gk))
            for a in range(kd):
                if a not in keep:
                    T[:, k, a] = 0.0
                    D[k, a] = 0.0
                    c[k, a] = 0.0
        Q = np.einsum("kad,kbd->kab", D, D)
        f_new, b_new, steps, fresh = self._newton(T, c, Q)
        if steps == 0 or not f_new <= self.f + 1e-13 * abs(self.f):
            return Status.STALLED
        W_new = np.einsum("ka,kad->kd", c, D)
        Z_new = np.einsum("nka,ka->nk", T, c)
        dc = c.copy()
        dc[:, 0] -= np.where(has_dir, norms, 0.0)
        self.moves = np.einsum("ka,kad->kd", dc, D)
        self.tmoves = np.einsum("nka,ka->nk", T, dc)
        # the error bounds of the combined margins (see the binary step)
        e = errs + EPS
        z_norm = np.sqrt(np.maximum(p.s @ (Z_new * Z_new), 0.0))
        self.err_z = (np.abs(c) * e).sum(1) / np.maximum(z_norm, 1e-300)
        move_norm = np.sqrt(np.maximum(p.s @ (self.tmoves * self.tmoves), 0.0))
        self.err_p = (np.abs(dc) * e).sum(1) / np.maximum(move_norm, 1e-300)
        self.have_p = has_dir & (move_norm > 0) & (self.err_p <= MAX_MARGIN_ERROR)
        mv = self.have_p
        self.moves[mv] /= move_norm[mv, None]
        self.tmoves[:, mv] /= move_norm[mv]
        self.W, self.Z, self.b = W_new, Z_new, b_new
        refresh = ((self.iteration + 1) % REFRESH_EVERY == 0
                   or np.any(self.err_z > MAX_MARGIN_ERROR))
        if refresh:
            self.Z = p.margins(self.W)
            self.err_z[:] = EPS
            if mv.any():
                self.tmoves = p.margins(self.moves)
                self.err_p[mv] = EPS
        self.reuse = fresh and not refresh
        if self.reuse:
            self.P, self.sub_P = self.sub_P, self.P
            self.f_data = self.sub_f_data
        return Status.RUNNING

    def _objective(self, T, c, b, Q, cached=False):
        """``(f, grad, H, sums)`` of the subproblem at ``(c, b)``."""
        p = self.problem
        K, kd = c.shape
        P = self.P if cached else self.sub_P
        out = softmax_subspace_eval(T, c, b, p.y, p.s, P, cached)
        m = K * (kd + 1)
        grad = out[1:1 + m].copy()
        H = np.zeros((m, m))
        iu = np.triu_indices(m)
        H[iu] = out[1 + m:]
        H = H + np.triu(H, 1).T
        f = float(out[0])
        for k in range(K):
            qc = Q[k] @ c[k]
            sl = slice(k * (kd + 1), k * (kd + 1) + kd)
            grad[sl] += p.alpha * qc
            H[sl, sl] += p.alpha * Q[k]
            f += 0.5 * p.alpha * float(c[k] @ qc)
        if not p.fit_intercept:
            for k in range(K):
                j = k * (kd + 1) + kd
                grad[j] = 0.0
                H[j, :] = 0.0
                H[:, j] = 0.0
                H[j, j] = 1.0
        return f, grad, H

    def _newton(self, T, c, Q):
        """Damped Newton on the subproblem from ``(c, b)``; ``c`` is updated."""
        p = self.problem
        K, kd = c.shape
        self.sub_P = np.empty_like(self.P)
        b = self.b.copy()
        # the derivatives at the current iterate from its softmax: no pass
        f, grad, H = self._objective(T, c, b, Q, cached=True)
        f += self.f_data
        f_start = f
        steps = 0
        fresh = False
        m = K * (kd + 1)
        for _ in range(self.n_search):
            gnorm = float(grad @ grad)
            if math.sqrt(gnorm) <= self.search_tol:
                break
            trace = float(np.trace(H))
            Hr = H + (1e-12 * trace + 1e-300) * np.eye(m)
            try:
                L = np.linalg.cholesky(Hr)
                step = -np.linalg.solve(L.T, np.linalg.solve(L, grad))
                ok = True
            except np.linalg.LinAlgError:
                ok = False
            slope = float(grad @ step) if ok else 0.0
            if ok and slope < 0.0 and -slope <= 1e-15 * abs(f):
                break
            if ok and slope < 0.0 and -slope <= SUBSPACE_REL_GAIN * (f_start - f):
                break
            if not ok or not slope < 0.0:
                lip = max(trace, p.curvature) + 1e-300
                step = -grad / lip
                slope = -gnorm / lip
            lam = 1.0
            accepted = False
            for _ in range(30):
                cs = step.reshape(K, kd + 1)
                c_new = c + lam * cs[:, :kd]
                b_new = b + lam * cs[:, kd] if p.fit_intercept else b
                f_new, g_new, H_new = self._objective(T, c_new, b_new, Q)
                fresh = False
                if f_new <= f + 1e-4 * lam * slope:
                    accepted = True
                    fresh = True
                    self.sub_f_data = f_new - 0.5 * p.alpha * sum(
                        float(c_new[k] @ Q[k] @ c_new[k]) for k in range(K))
                    break
                lam *= 0.5
            if not accepted:
                break
            steps += 1
            gain = f - f_new
            c[:] = c_new
            b = b_new
            f, grad, H = f_new, g_new, H_new
            if gain <= 1e-15 * abs(f):
                break
        if p.fit_intercept:
            b = b - b.mean()  # the softmax is invariant to a common shift
        return f, b, steps, fresh

    # -- result --------------------------------------------------------------

    def result(self):
        return self.W.copy(), self.b.copy()

    def drop_momentum(self):
        pass

    def restore_best(self):
        return Status.DIVERGED

    @property
    def scale(self):
        p = self.problem
        return np.sqrt(np.maximum(p.s @ (self.Z * self.Z), 0.0))

    @property
    def scale_at_bound(self):
        return False
