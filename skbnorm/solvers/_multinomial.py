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
descent direction ``v_k`` and its previous move -- and the intercepts;
Newton's method minimises the objective over all ``4K`` coefficients at
once, on cached margins, so the classes' coupling through the softmax is
solved exactly in the subspace.

The descent direction is Newton's, ``V = -H^{-1} grad F``:

* formed and factored where the Hessian is small (at most
  :data:`NEWTON_MAX_COEFS` coefficients ``K (d + 1)``, and cheap next to an
  iteration: iris, wine);
* otherwise by conjugate gradients (Newton-CG: two passes per product
  ``H v``, none forming ``H``), preconditioned by the Kronecker-factored
  metric ``A (x) S + alpha I`` of :class:`KronMetric` -- ``S`` the
  weighted Gram matrix of the centered columns, BN's whitening, and
  ``A`` the class covariance of the softmax averaged over the rows. The
  same CG run gives Newton's decrement, the stopping test, at the iterate.

Measured on digits (10 classes, 650 coefficients; standardised, every
other parameter at its default, best of five): the whole Hessian, 7
iterations in 0.27 s (forming it is most of the time); the Kronecker
metric's own direction, 38 iterations in 0.095 s; the diagonal blocks of
the Hessian (each class's ``X_c^T diag(s p_k (1 - p_k)) X_c``), 22
iterations in 0.15 s; Newton-CG in the Kronecker metric, 9 iterations in
0.047 s. Where not even ``S`` fits (``d`` above
:data:`~._metric.MAX_METRIC_FEATURES`), each class's metric is the diagonal
of its Hessian block, as the binary solver's: ``O(K d)`` memory (its dense
blocks needed ``K d^2`` floats, 75 GB a class at ``d = 100000``).

The measured alternative, one length shared by all classes (the subspace
``span{W~, V, P}`` of ``K x d`` matrices), needed more iterations on every
set tried (see the user guide), for a subspace solve that is cheaper only
when ``K`` is large.
"""

import math

import numpy as np

from ..objectives._design import column_sums
from ..objectives._softmax import (
    add_blocks,
    class_grams,
    combine,
    hessian_residuals,
    residuals,
    softmax_pass,
    softmax_subspace_eval,
    softmax_subspace_value,
    stack_columns,
)
from ._base import Status
from ._metric import MAX_METRIC_FEATURES, RCOND, Factor
from ._stopping import FLOOR
from ._subspace import (
    EPS,
    MAX_MARGIN_ERROR,
    NS_PER_DENSE_PAIR,
    NS_PER_FLOP_FACTOR,
    NS_PER_ITERATION,
    REFRESH_EVERY,
    SUBSPACE_REL_GAIN,
    DiagonalFactor,
    _costs,
    _independent,
    refresh_pays,
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
        self._gram_eig = None

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

    def gram_eig(self):
        """The eigendecomposition of ``S = X_c^T diag(s) X_c``, formed once."""
        if self._gram_eig is None:
            vals, vecs = np.linalg.eigh(self.design.hessian(self.s, False))
            self._gram_eig = (np.maximum(vals, 0.0), vecs)
        return self._gram_eig

    def diagonal_metric(self, P, k):
        """The diagonal of class ``k``'s block of the Hessian: ``O(d)``
        memory, one pass over ``X``."""
        return DiagonalFactor(self, self.s * P[:, k] * (1.0 - P[:, k]))

    def full_reference(self, P, H):
        """Per coefficient of :meth:`full_hessian`, its uncentered curvature
        ``sum_i s_i p_ik x_ij^2 + alpha`` (``sum_i s_i p_ik`` for ``b_k``),
        at least ``H``'s diagonal: the scale :class:`Factor` judges it in."""
        K, d = self.K, self.n_features
        m1 = d + 1 if self.fit_intercept else d
        ref = np.empty(K * m1)
        for k in range(K):
            w = self.s * P[:, k]
            ref[k * m1:k * m1 + d] = self.design.column_sq_means(w) + self.alpha
            if self.fit_intercept:
                ref[k * m1 + d] = w.sum()
        return np.maximum(ref, np.diag(H))

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


#: Newton's direction is the default while forming the Hessian costs at most
#: this many iterations (measured: see the user guide)
NEWTON_ITERATIONS = 4.0
#: ... and while it has at most this many coefficients: beyond, Newton-CG
#: in the Kronecker metric was faster on every set measured
NEWTON_MAX_COEFS = 128
#: a subspace Newton step whose gain is the quadratic model's to this
#: fraction ends the subspace search (see ``MultinomialSolver._newton``)
MODEL_AGREEMENT = 0.1
#: Newton-CG's forcing term: the relative error of the decrement at which
#: the conjugate gradients stop; and their most steps per iterate
CG_RTOL = 1e-2
CG_RTOL_FAR = 1e-1
CG_MAX_ITER = 20
#: the error estimate ``r^T M^{-1} r`` measures ``r^T H^{-1} r`` in the wrong
#: metric (measured at digits' last iterates: 1.5x short); the stopping
#: test counts it this many times
CG_ERR_SAFETY = 4.0


class KronMetric:
    r"""The Kronecker-factored Hessian, ``A (x) S + alpha I``, and ``A`` on the
    intercepts.

    ``S = X_c^T diag(s) X_c`` (formed once per fit) and ``A = sum_i s_i
    (diag(p_i) - p_i p_i^T)``: the Hessian with the class probabilities
    averaged over the rows -- exact at the start of a fit, where every row
    has the same ``p``, and the Hessian of the whitened problem (Batch
    Normalization's decorrelation) coupled across classes. The cross terms
    between coefficients and intercepts vanish because ``X_c`` is centered.
    Solves cost two eigenbases, ``K x K`` and ``d x d``; forming it, one
    pass of ``K^2`` products.
    """

    def __init__(self, problem, P):
        sig, self.Q = problem.gram_eig()
        s = problem.s
        A = np.diag(s @ P) - (P * s[:, None]).T @ P
        lam, self.U = np.linalg.eigh(A)
        lam = np.maximum(lam, 0.0)
        den = np.outer(lam, sig) + problem.alpha
        top = float(den.max()) if den.size else 0.0
        # a singular metric (alpha = 0) is inverted on its range
        self.den = np.where(den > RCOND * top, den, np.inf) if top > 0 \
            else np.full(den.shape, np.inf)
        lam_top = float(lam.max()) if lam.size else 0.0
        # the softmax's common shift of the intercepts is a null direction
        self.lam_b = np.where(lam > RCOND * lam_top, lam, np.inf)
        self.fit_intercept = problem.fit_intercept

    def solve(self, G, gb):
        """``M^+ (G, gb)``: the ``K x d`` and ``K`` parts."""
        U, Q = self.U, self.Q
        V = U @ (((U.T @ G) @ Q) / self.den) @ Q.T
        if self.fit_intercept:
            vb = U @ ((U.T @ gb) / self.lam_b)
        else:
            vb = np.zeros_like(gb)
        return V, vb


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
        # K classes' passes, but one subspace solve: the fixed cost once
        self.step_cost = p.K * (one_pass_iter - NS_PER_ITERATION) \
            + NS_PER_ITERATION
        newton_cost = p.K * hess + NS_PER_DENSE_PAIR * p.n_samples \
            * (p.K * m1) ** 2 / 2.0 + NS_PER_FLOP_FACTOR * (p.K * m1) ** 3 / 3
        # Newton's direction (the whole Hessian) where it fits and costs
        # little next to an iteration; else the Kronecker-factored metric,
        # formed from K x K sums at every iterate; each class's Hessian
        # diagonal where not even the d x d Gram matrix fits (K dense d x d
        # blocks needed 75 GB at d = 100000)
        if p.K * m1 <= MAX_METRIC_FEATURES and (
                self.metric == "hessian" and metric != "auto"
                or p.K * m1 <= NEWTON_MAX_COEFS
                and newton_cost <= NEWTON_ITERATIONS * self.step_cost):
            self.kind = "newton"
            self.metric_cost = newton_cost
        elif p.n_features <= MAX_METRIC_FEATURES:
            self.kind = "kron"
            self.metric_cost = NS_PER_DENSE_PAIR * p.n_samples * p.K ** 2
        else:
            self.kind = "diagonal"
            self.metric_cost = p.K * one_pass_iter
        self.full = self.kind == "newton"
        self.newton_dir = None
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
        self.trial_P = np.empty((n, K))
        self.best_P = np.empty((n, K))
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
        sums = column_sums(R)
        G = p.design.rmatmat(R, np.empty_like(self.W), sums)
        G += p.alpha * self.W
        gb = sums if p.fit_intercept else np.zeros(p.K)
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
        if self.kind == "newton":
            H = p.full_hessian(self.P)
            # judged in the columns' units if the unscaled factor fails (the
            # unpenalised Hessian is always singular: a shift of every
            # class's coefficients together changes nothing)
            self.factors = Factor(H, lambda: p.full_reference(self.P, H))
        elif self.kind == "kron":
            self.factors = KronMetric(p, self.P)
        else:
            self.factors = [p.diagonal_metric(self.P, k) for k in range(p.K)]
        self.factor_age = 0
        self.ratios = []
        self.prev_decrement = None

    def _refresh_pays(self):
        if self.metric == "S":
            return False
        if self.kind == "kron":
            return True
        return refresh_pays(self.metric_cost, self.step_cost, self.ratios,
                            self._last_rel, self.problem.tol)

    def _directions(self):
        """``-M^{-1} grad F`` class by class (``K x d``)."""
        p = self.problem
        K, d = p.K, p.n_features
        if self.kind == "newton":
            m1 = d + 1 if p.fit_intercept else d
            v = self.factors.solve(_stack(self.G, self.gb, p.fit_intercept))
            return -v.reshape(K, m1)[:, :d]
        if self.kind == "kron":
            return -self.factors.solve(self.G, self.gb)[0]
        V = np.empty((K, d))
        for k in range(K):
            g = np.append(self.G[k], self.gb[k]) if p.fit_intercept else self.G[k]
            V[k] = -self.factors[k].solve(g)[:d]
        return V

    def _decrement(self):
        p = self.problem
        if self.kind == "newton":
            g = _stack(self.G, self.gb, p.fit_intercept)
            return 0.5 * float(g @ self.factors.solve(g))
        if self.kind == "kron":
            V, vb = self.factors.solve(self.G, self.gb)
            return 0.5 * (float(np.sum(V * self.G)) + float(vb @ self.gb))
        dec = 0.0
        for k in range(p.K):
            g = np.append(self.G[k], self.gb[k]) if p.fit_intercept else self.G[k]
            dec += 0.5 * float(g @ self.factors[k].solve(g))
        return dec

    def _hessian_product(self, V, vb):
        """The Hessian at the iterate applied to ``(V, vb)``: two passes.

        Returns ``(H_V, H_b, X_c V^T)``: the margins come with the product.
        """
        p = self.problem
        TV = p.margins(V)
        R = hessian_residuals(self.P, TV + vb, p.s)
        sums = column_sums(R)
        HV = p.design.rmatmat(R, np.empty_like(V), sums)
        HV += p.alpha * V
        hb = sums if p.fit_intercept else np.zeros(p.K)
        return HV, hb, TV

    def _newton_cg(self, target, rtol):
        """Newton's direction and decrement by conjugate gradients.

        CG on ``H x = g`` from 0, preconditioned by the Kronecker metric:
        ``g^T x_j / 2`` increases to Newton's decrement ``g^T H^{-1} g / 2``
        and falls short of it by ``r_j^T H^{-1} r_j / 2``, estimated by
        ``r_j^T M^{-1} r_j / 2``. The iteration stops once the estimate is
        ``rtol`` of the decrement (an inexact Newton step, the forcing term
        of Newton-CG), or once the bound plus :data:`CG_ERR_SAFETY` times the
        estimate is below ``target`` (converged). Each CG step is two passes, where
        forming ``H`` costs ``K (K + 1) / 2`` weighted Gram matrices.

        Returns ``(decrement, error estimate)``; ``x`` is kept as the next
        direction, ``(x_W, X_c x_W^T, x_b)``: its margins accumulated from
        the products'.
        """
        p = self.problem
        G, gb = self.G, self.gb
        fit_b = p.fit_intercept
        X, xb = np.zeros_like(G), np.zeros_like(gb)
        TX = np.zeros((p.n_samples, p.K))
        R, rb = G.copy(), gb.copy()
        Zc, zb = self.factors.solve(R, rb)
        D, db = Zc.copy(), zb.copy()
        rz = float(np.sum(R * Zc) + rb @ zb)
        dec, err = 0.0, 0.5 * rz
        for _ in range(CG_MAX_ITER):
            if not rz > 0:
                break
            HD, hdb, TD = self._hessian_product(D, db)
            dhd = float(np.sum(D * HD) + db @ hdb)
            if not dhd > 0:
                break
            a = rz / dhd
            X += a * D
            TX += a * TD
            xb += a * db
            R -= a * HD
            rb -= a * hdb
            if not fit_b:
                rb[:] = 0.0
            dec = 0.5 * float(np.sum(G * X) + gb @ xb)
            Zc, zb = self.factors.solve(R, rb)
            rz_new = float(np.sum(R * Zc) + rb @ zb)
            err = 0.5 * max(rz_new, 0.0)
            if err <= rtol * dec or dec + CG_ERR_SAFETY * err <= target:
                break
            beta = rz_new / rz
            rz = rz_new
            D *= beta
            D += Zc
            db *= beta
            db += zb
        if dec > 0:
            self.newton_dir = (X, TX, xb)
        return dec, err

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
        if self.kind == "kron":
            # Newton-CG: the direction, and the decrement that decides
            target = p.tol * scale if p.tol > 0 else 0.0
            # far from the optimum a rough Newton direction does as well
            # (Eisenstat and Walker's forcing terms)
            rtol = min(CG_RTOL_FAR, max(CG_RTOL, math.sqrt(dec / scale)))
            dec, err = self._newton_cg(target, rtol)
            self.prev_decrement = dec
            p.decrement = dec
            if dec + CG_ERR_SAFETY * err <= target:
                return Status.CONVERGED
            return Status.RUNNING
        if not p.tol > 0 or dec > p.tol * scale:
            return Status.RUNNING
        elif self.full and self.factor_age > 0 and self.metric != "S":
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
        # Newton-CG's direction takes a line search: a subspace search with
        # the previous move and the current coefficients (the binary step's)
        # measured slower on every set (digits 0.041 -> 0.037 s, 60000 x 54
        # with 7 classes 0.131 -> 0.087 s) -- the direction already holds
        # the curvature the subspace would add
        if self.kind == "kron" and self.newton_dir is not None:
            return self._line_step()
        return self._subspace_step()

    def _line_step(self):
        """Armijo backtracking from the full Newton-CG step; one softmax
        pass per trial, the margins moved along the direction's."""
        p = self.problem
        # xb stays 0 without an intercept (the metric's intercept part is)
        (V, TV, vb), self.newton_dir = self.newton_dir, None
        # Newton-CG's direction is -H^{-1} g: minus what CG solved for
        slope = -float(np.sum(self.G * V) + self.gb @ vb)
        t = 1.0
        f = self.f
        trial = self.trial_P
        for _ in range(30):
            W_new = self.W - t * V
            b_new = self.b - t * vb
            Z_new = self.Z - t * TV
            f_data, _ = softmax_pass(Z_new, b_new, p.y, p.s, trial)
            f_new = f_data + 0.5 * p.alpha * float(np.sum(W_new * W_new))
            if np.isfinite(f_new) and f_new <= f + 1e-4 * t * slope:
                break
            t *= 0.5
        else:
            return Status.STALLED
        if not f_new <= self.f + 1e-13 * abs(self.f):
            return Status.STALLED
        self.W, self.Z = W_new, Z_new
        self.b = b_new - b_new.mean() if p.fit_intercept else b_new
        # margins summed over the conjugate gradients' steps carry one
        # rounding per step
        self.err_z = self.err_z + EPS * CG_MAX_ITER
        self.have_p[:] = False
        refresh = self._margins_stale()
        if refresh:
            self.Z = p.margins(self.W)
            self.err_z[:] = EPS
            self.reuse = False
        else:
            self.P, self.trial_P = trial, self.P
            self.f_data = f_data
            self.reuse = True
        return Status.RUNNING

    def _subspace_step(self):
        p = self.problem
        K = p.K
        V = self._directions()
        TV = p.margins(V)
        err_v = EPS
        # per class: current direction, descent direction, previous move,
        # each at unit S-norm
        norms = np.sqrt(np.maximum(p.s @ (self.Z * self.Z), 0.0))
        has_dir = norms > 0
        nv = np.sqrt(np.maximum(p.s @ (TV * TV), 0.0))
        ok_v = nv > 0
        hp = self.have_p
        kd = 3
        # the columns' scales: 0 drops a column
        scales = np.zeros((K, kd))
        scales[has_dir, 0] = 1.0 / norms[has_dir]
        scales[ok_v, 1] = 1.0 / nv[ok_v]
        scales[hp, 2] = 1.0
        T = stack_columns(self.Z, TV, self.tmoves, scales)
        D = np.stack([self.W, V, self.moves], axis=1) * scales[:, :, None]
        c = np.where(has_dir, norms, 0.0)[:, None] * np.array([1.0, 0.0, 0.0])
        errs = np.zeros((K, kd))
        errs[has_dir, 0] = self.err_z[has_dir]
        errs[ok_v, 1] = err_v
        errs[hp, 2] = self.err_p[hp]
        # nearly parallel directions within a class lose the digits that
        # cancel (see the binary step): zero the dependent ones
        grams = class_grams(T, p.s)
        for k in range(K):
            keep = set(_independent(grams[k]))
            drop = [a for a in range(kd) if a not in keep]
            if drop:
                T[:, k, drop] = 0.0
                D[k, drop] = 0.0
                c[k, drop] = 0.0
        Q = np.einsum("kad,kbd->kab", D, D)
        f_new, b_new, steps, fresh = self._newton(T, c, Q)
        if steps == 0 or not f_new <= self.f + 1e-13 * abs(self.f):
            return Status.STALLED
        W_new = np.einsum("ka,kad->kd", c, D)
        Z_new = combine(T, c)
        dc = c.copy()
        dc[:, 0] -= np.where(has_dir, norms, 0.0)
        self.moves = np.einsum("ka,kad->kd", dc, D)
        self.tmoves = combine(T, dc)
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
        refresh = self._margins_stale()
        if refresh:
            self.Z = p.margins(self.W)
            self.err_z[:] = EPS
            if mv.any():
                self.tmoves = p.margins(self.moves)
                self.err_p[mv] = EPS
        self.reuse = fresh and not refresh
        if self.reuse:
            self.P, self.best_P = self.best_P, self.P
            self.f_data = self.sub_f_data
        return Status.RUNNING

    def _margins_stale(self):
        """Whether the cached margins are recomputed after this step: every
        :data:`REFRESH_EVERY` iterations, or once their error bound grows."""
        return ((self.iteration + 1) % REFRESH_EVERY == 0
                or bool(np.any(self.err_z > MAX_MARGIN_ERROR)))

    def _objective(self, T, c, b, Q, P):
        """``(f, grad, H)`` of the subproblem at ``(c, b)``, from the softmax
        ``P`` there (``f`` the penalty alone)."""
        p = self.problem
        K, kd = c.shape
        _, grad, H = softmax_subspace_eval(T, c, b, p.y, p.s, P, True)
        qc = np.einsum("kab,kb->ka", Q, c)
        grad.reshape(K, kd + 1)[:, :kd] += p.alpha * qc
        add_blocks(H, self._penalty_blocks(Q))
        f = 0.5 * p.alpha * float(np.sum(c * qc))
        if not p.fit_intercept:
            j = np.arange(K) * (kd + 1) + kd
            grad[j] = 0.0
            H[j, :] = 0.0
            H[:, j] = 0.0
            H[j, j] = 1.0
        return f, grad, H

    def _value(self, T, c, b, Q, P):
        """``(f, f_data)`` of the subproblem at ``(c, b)``; ``P`` <- softmax."""
        p = self.problem
        f_data = softmax_subspace_value(T, c, b, p.y, p.s, P)
        pen = 0.5 * p.alpha * float(np.sum(c * np.einsum("kab,kb->ka", Q, c)))
        return f_data + pen, f_data

    def _penalty_blocks(self, Q):
        """``alpha Q_k`` bordered by the intercept's zero row, per class."""
        K, kd, _ = Q.shape
        out = np.zeros((K, kd + 1, kd + 1))
        out[:, :kd, :kd] = self.problem.alpha * Q
        return out

    def _newton(self, T, c, Q):
        """Damped Newton on the subproblem from ``(c, b)``; ``c`` is updated.

        Trial points cost the loss alone (one softmax per row); derivatives
        are formed at accepted points only, and not at the last: a full
        Newton step whose gain matches the quadratic model's to
        :data:`MODEL_AGREEMENT` leaves a remainder of the order of the
        model's error squared, below the subspace's resolution.
        """
        p = self.problem
        K, kd = c.shape
        b = self.b.copy()
        # the derivatives at the current iterate from its softmax: no pass
        pen, grad, H = self._objective(T, c, b, Q, self.P)
        f = self.f_data + pen
        f_start = f
        steps = 0
        fresh = False
        m = K * (kd + 1)
        trial, best = self.trial_P, self.best_P
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
            newton = ok and slope < 0.0
            if not newton:
                lip = max(trace, p.curvature) + 1e-300
                step = -grad / lip
                slope = -gnorm / lip
            lam = 1.0
            accepted = False
            cs = step.reshape(K, kd + 1)
            for _ in range(30):
                c_new = c + lam * cs[:, :kd]
                b_new = b + lam * cs[:, kd] if p.fit_intercept else b
                f_new, f_data = self._value(T, c_new, b_new, Q, trial)
                if f_new <= f + 1e-4 * lam * slope:
                    accepted = True
                    trial, best = best, trial
                    self.sub_f_data = f_data
                    break
                lam *= 0.5
            if not accepted:
                break
            steps += 1
            fresh = True
            gain = f - f_new
            c[:] = c_new
            b = b_new
            f = f_new
            if gain <= 1e-15 * abs(f):
                break
            if newton and lam == 1.0:
                model = -0.5 * slope  # the quadratic model's gain
                if abs(gain - model) <= MODEL_AGREEMENT * model:
                    break
            pen, grad, H = self._objective(T, c, b, Q, best)
        self.trial_P, self.best_P = trial, best
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
