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

import math

import numpy as np
from scipy.linalg.blas import dsyr2
from scipy.linalg.lapack import dpotrf, dpotrs

#: eigenvalues below this fraction of the largest are treated as zero when
#: ``M`` is singular (numpy.linalg.lstsq's rcond for float64)
RCOND = 1e-12


def curvature_weights(problem, r, r2):
    """The per-row weights ``h`` of the metric: ``s l''`` (convex losses), or
    ``|s l'|`` for the sigmoid (see the module docstring)."""
    return r2 if problem.convex else abs(r)


class Factor:
    """A factored symmetric positive semi-definite matrix: solves and norms.

    Cholesky (LAPACK's ``potrf`` called directly: scipy's wrappers cost
    more than the factorisation of a small metric); a numerically singular
    matrix is inverted on its range by its eigendecomposition.

    With ``reference`` (positive numbers on the scale of ``diag(M)``, or a
    callable returning them, see :func:`metric_factor`), a matrix whose
    unscaled factor fails the pivot test is tested again -- a vanishing
    pivot, an eigenvalue below ``RCOND`` of the largest -- as ``S M S``,
    ``S = diag(reference)^{-1/2}``: BN's own idea applied to the metric, so that
    singularity is judged whatever the units of the features. Unscaled,
    features of standard deviation 1e-7 next to the intercept's curvature
    (or one column 1e7 times the others) gave pivots and eigenvalues below
    the cuts: their directions were dropped as null, the fit stopped at
    ``coef_ = 0`` and its decrement said it was optimal. The solve stays
    ``M``'s minimum-norm solution: its part in ``null(M) = S null(S M S)``
    is projected off.
    """

    def __init__(self, M, reference=None):
        self.m = M.shape[0]
        self.cho = None
        self.eig = None
        self.null = None
        self.empty = False
        self.scale = None
        # unscaled first: most metrics pass here, at no extra cost
        if self._cholesky(M):
            return
        Ms = M
        if reference is not None:
            reference = reference() if callable(reference) else reference
            ok = reference > 0
            self.scale = np.where(ok, 1.0 / np.sqrt(np.where(ok, reference, 1.0)),
                                  1.0)
            Ms = M * self.scale[:, None]
            Ms *= self.scale[None, :]
            if self._cholesky(Ms):
                return
        vals, vecs = np.linalg.eigh(Ms)
        top = max(vals[-1], 0.0)
        keep = vals > RCOND * top if top > 0 else np.zeros(vals.shape, bool)
        self.eig = (vals[keep], vecs[:, keep])
        self.empty = not keep.any()
        if self.scale is not None and not keep.all():
            # an orthonormal basis of null(M) = S null(S M S)
            self.null = np.linalg.qr(vecs[:, ~keep] * self.scale[:, None])[0]

    def _cholesky(self, M):
        """Keep ``M``'s Cholesky factor unless a pivot (nearly) vanishes."""
        c, info = dpotrf(M, lower=0, clean=0, overwrite_a=0)
        if info != 0:
            return False
        # a factor with a vanishing pivot is singular in all but name
        diag = np.abs(np.diag(c))
        if np.all(np.isfinite(diag)) and diag.min() > 1e-7 * max(
                diag.max(), 1e-300):
            self.cho = c
            return True
        return False

    def solve(self, g):
        """``M^+ g`` (``M^{-1} g`` when ``M`` is positive definite)."""
        scale = self.scale
        if scale is not None:
            g = scale * g
        if self.cho is not None:
            x = dpotrs(self.cho, g, lower=0)[0]
        else:
            vals, vecs = self.eig
            x = vecs @ ((vecs.T @ g) / vals)
        if scale is None:
            return x
        # S (S M S)^+ S g solves M x = g on the range of M; then its
        # minimum-norm part (scaling alone gives another solution)
        x *= scale
        if self.null is not None:
            x -= self.null @ (self.null.T @ x)
        return x


def hessian(problem, h):
    """The metric ``M`` of per-row weights ``h >= 0`` (:func:`curvature_weights`)."""
    p = problem
    M = p.design.hessian(h, p.fit_intercept)
    d = p.n_features
    M[np.arange(d), np.arange(d)] += p.alpha
    return M


def metric_factor(problem, M):
    """:class:`Factor` of a metric from :func:`hessian`, scaled by the
    uncentered diagonal ``sum_i h_i x_ij^2 + alpha`` (and ``sum h``).

    Scaled by the centered diagonal itself, a column constant up to the
    rounding of its centering (a variance of 1e-31 where its mean square is
    25) would be blown up to a unit pivot of pure rounding; against its
    uncentered energy it stays at 1e-33 and is null, as it should be.
    """
    p = problem

    def reference():
        # formed only for a metric whose unscaled factor fails
        d = p.n_features
        ref = np.diag(M).copy()
        if p.fit_intercept:
            # sum h x^2 = sum h (x - xbar)^2 + 2 xbar . X_c^T h + xbar^2 sum h
            xb = p.xbar
            ref[:d] += 2.0 * xb * M[d, :d] + M[d, d] * xb * xb
        # xbar is weighted by s, not h: where the curvature sits away from
        # a column's mean, its centered entry exceeds this; keep the larger,
        # so that no scaled diagonal entry exceeds 1
        return np.maximum(np.abs(ref), np.diag(M))

    return Factor(M, reference)


#: a dense metric costs d^2 floats and d^3/3 flops to factor; beyond this
#: many features the metric falls back to its diagonal
MAX_METRIC_FEATURES = 2048


def newton_decrement(problem, G, gb, factor, solved=None):
    """``1/2 [G; gb]^T M^+ [G; gb]``: Newton's estimate of ``F - F*``.

    ``solved``, a list, receives ``M^+ [G; gb]`` (the Newton direction).
    """
    g = np.append(G, gb) if problem.fit_intercept else G
    if factor.empty:
        # no curvature at all: the decrement says nothing
        return 0.0 if not np.any(g) else np.inf
    v = factor.solve(g)
    if solved is not None:
        solved.append(v)
    return 0.5 * float(g @ v)


class WoodburyFactor:
    r"""The metric of a wide design (``n_features >= n_samples``), in sample space.

    With ``U = X_c`` and the intercept eliminated (its Schur complement
    replaces ``diag(h)`` by ``D~ = P D P``-like ``D - h h^T / sum h``, with
    ``D~ = C^T C``, ``C = (I - q q^T) D^{1/2}``, ``q = sqrt(h / sum h)``),

    .. math::

        (\alpha I + U^\top \tilde D U)^{-1}
        = \frac1\alpha\big(I - V^\top (\alpha I + V V^\top)^{-1} V\big),
        \qquad V = C U,\quad V V^\top = C K C^\top,

    ``K = X_c X_c^T`` (formed once per fit). Without an intercept ``C =
    D^{1/2}`` and the bracket is factored as ``K + alpha D^{-1}``, whose
    inverse is ``C^T (alpha I + C K C^T)^{-1} C``. A solve costs two passes over
    ``X`` and an ``n x n`` triangular solve instead of a ``d x d``
    factorisation: on benchopt's ``200 x 500`` problems the metric costs
    ``n^3/3`` flops instead of ``d^3/3``. Needs ``alpha > 0``.
    """

    empty = False

    def __init__(self, problem, h, replaces=None):
        # ``replaces``: the factor this one replaces, whose n x n array it
        # takes over. A fresh one per refresh cost its page faults: the
        # second factor of a 200 x 500 fit took 177 us to fill where the
        # others took 33-42 (the first was still alive while it was made)
        p = self.p = problem
        self.alpha = p.alpha
        n = p.n_samples
        M = self._buffer(replaces, n)
        if not p.fit_intercept:
            # alpha I + D^{1/2} K D^{1/2} = D^{1/2} (K + alpha D^{-1}) D^{1/2}:
            # factor the bracket, a copy of K with a new diagonal, and the
            # D^{1/2} on either side cancel against C and C^T in the solve
            # (two n x n scalings saved a factor: about 40 of 200 us on
            # 200 x 500). A row without curvature (h = 0) drops out: its
            # diagonal entry is capped at 1e300 instead of inf, which
            # leaves it a weight of 1e-300 in the solve
            np.copyto(M, p.gram())
            # alpha / h where it stays below 1e300 (no overflow, and no
            # divide-by-zero for rows of zero weight), 1e300 elsewhere
            shift = np.full(n, 1e300)
            np.divide(self.alpha, h, out=shift, where=self.alpha < 1e300 * h)
            M[np.arange(n), np.arange(n)] += shift
            # symmetric: its transpose is the Fortran-ordered array LAPACK
            # takes without a copy
            Mt = M.T
        else:
            sq = np.sqrt(h)
            self.sq = sq
            total = float(h.sum())
            self.total = total
            self.q = sq / math.sqrt(total) if total > 0 else np.zeros(n)
            # X_c^T h now: h is the solver's buffer of l'', rewritten at the
            # next iterate, and a factor may be kept (stale) for several
            self.c = p.design.rmatvec(h, np.empty(p.n_features))
            # C K C^T = P M P, M = D^{1/2} K D^{1/2}, P = I - q q^T: M and a
            # symmetric rank-two correction (only the lower triangle is used)
            np.multiply(p.gram(), sq[:, None], out=M)
            M *= sq[None, :]
            q = self.q
            u = M @ q
            v = u - 0.5 * float(q @ u) * q
            # M is symmetric: its transpose is the Fortran-ordered array
            # BLAS and LAPACK take without a copy (and update in place)
            Mt = dsyr2(-1.0, q, v, a=M.T, lower=1, overwrite_a=1)
            Mt[np.arange(n), np.arange(n)] += self.alpha
        self.cho, info = dpotrf(Mt, lower=1, clean=0, overwrite_a=1)
        if info != 0:
            raise np.linalg.LinAlgError("the wide metric is not definite")

    def _buffer(self, replaces, n):
        """The C-ordered ``n x n`` array the factor is formed in (LAPACK and
        BLAS overwrite it in place: the factor is its transpose)."""
        M = getattr(replaces, "buffer", None)
        if M is None or M.shape != (n, n):
            M = np.empty((n, n))
        self.buffer = M
        if replaces is not None:
            replaces.buffer = None  # its factor is about to be overwritten
            replaces.cho = None
        return M

    def _C(self, a):
        """``C a`` for ``C = (I - q q^T) D^{1/2}``."""
        b = self.sq * a
        return b - self.q * (self.q @ b)

    def _Ct(self, z):
        """``C^T z = D^{1/2} (I - q q^T) z``."""
        return self.sq * (z - self.q * (self.q @ z))

    def solve(self, g):
        p = self.p
        d = p.n_features
        if p.fit_intercept:
            G, gb = g[:d], g[d]
            total = self.total
            c = self.c
            r = G - c * (gb / total) if total > 0 else G.copy()
        else:
            r = g
        Ur = p.design.matvec(r, np.empty(p.n_samples))
        if p.fit_intercept:
            ctz = self._Ct(dpotrs(self.cho, self._C(Ur), lower=1)[0])
        else:  # the factor's D^{1/2} cancel (see __init__): C^T z directly
            ctz = dpotrs(self.cho, Ur, lower=1)[0]
        v = (r - p.design.rmatvec(ctz, np.empty(d))) / self.alpha
        if not p.fit_intercept:
            return v
        vb = (gb - float(c @ v)) / total if total > 0 else 0.0
        return np.append(v, vb)
