"""Matrix-free linear algebra on the centered design ``X_c = X - 1 xbar^T``.

``X`` is dense (C-contiguous, float32 or float64) or CSR. It is never copied,
densified or centered in memory: the kernels use

* ``X_c w   = X w - (xbar^T w) 1``
* ``X_c^T a = X^T a - xbar (1^T a)``

A design is passed to every kernel as the five arguments
``(Xd, data, indices, indptr, sparse)``: ``Xd`` is the dense array (an empty
2-D array when ``sparse``), the next three are the CSR arrays (empty when
dense). Accumulation is in float64 and in a fixed order, so results do not
depend on the run.
"""

import numpy as np
import scipy.sparse as sp

from .._numba import jit
from ._losses import loss_derivs


def as_design(X):
    """Split ``X`` into the kernel arguments ``(Xd, data, indices, indptr, sparse)``.

    Dense input must already be a C-contiguous float array and sparse input a
    CSR matrix/array with sorted or unsorted indices; nothing is copied.
    """
    if sp.issparse(X):
        if X.format != "csr":
            raise TypeError("as_design expects a CSR matrix; convert once before")
        empty = np.empty((0, 0), dtype=X.data.dtype)
        return empty, X.data, X.indices, X.indptr, True
    empty_f = np.empty(0, dtype=X.dtype)
    empty_i = np.empty(0, dtype=np.int32)
    return X, empty_f, empty_i, empty_i, False


@jit
def forward(Xd, data, indices, indptr, sparse, xbar, w, out):
    """``out <- X_c w`` (``xbar`` may be all zeros for an uncentered design)."""
    shift = 0.0
    for j in range(w.shape[0]):
        shift += xbar[j] * w[j]
    n = out.shape[0]
    if sparse:
        for i in range(n):
            acc = 0.0
            for k in range(indptr[i], indptr[i + 1]):
                acc += data[k] * w[indices[k]]
            out[i] = acc - shift
    else:
        d = Xd.shape[1]
        for i in range(n):
            acc = 0.0
            for j in range(d):
                acc += Xd[i, j] * w[j]
            out[i] = acc - shift


@jit
def backward(Xd, data, indices, indptr, sparse, xbar, a, out):
    """``out <- X_c^T a``."""
    out[:] = 0.0
    total = 0.0
    n = a.shape[0]
    if sparse:
        for i in range(n):
            ai = a[i]
            total += ai
            for k in range(indptr[i], indptr[i + 1]):
                out[indices[k]] += data[k] * ai
    else:
        d = Xd.shape[1]
        for i in range(n):
            ai = a[i]
            total += ai
            for j in range(d):
                out[j] += Xd[i, j] * ai
    for j in range(out.shape[0]):
        out[j] -= xbar[j] * total


@jit
def backward2(Xd, data, indices, indptr, sparse, xbar, a, c, out_a, out_c):
    """``out_a <- X_c^T a`` and ``out_c <- X_c^T c`` in one pass over ``X``.

    The normalised solvers need both ``X_c^T r`` (the gradient) and
    ``X_c^T (s * t) = S w``; fusing them reads ``X`` once.
    """
    out_a[:] = 0.0
    out_c[:] = 0.0
    tot_a = 0.0
    tot_c = 0.0
    n = a.shape[0]
    if sparse:
        for i in range(n):
            ai = a[i]
            ci = c[i]
            tot_a += ai
            tot_c += ci
            for k in range(indptr[i], indptr[i + 1]):
                v = data[k]
                j = indices[k]
                out_a[j] += v * ai
                out_c[j] += v * ci
    else:
        d = Xd.shape[1]
        for i in range(n):
            ai = a[i]
            ci = c[i]
            tot_a += ai
            tot_c += ci
            for j in range(d):
                v = Xd[i, j]
                out_a[j] += v * ai
                out_c[j] += v * ci
    for j in range(out_a.shape[0]):
        out_a[j] -= xbar[j] * tot_a
        out_c[j] -= xbar[j] * tot_c


@jit
def margin_loss(code, t, scale, b, y, s, r):
    """Weighted loss of margins ``m = scale * t + b``; ``r <- s * l'(m, y)``.

    Returns ``(sum_i s_i l(m_i), sum_i r_i, sum_i r_i t_i)``: the data term and
    the two contractions the scale/intercept derivatives need, all in O(n).
    """
    f = 0.0
    sum_r = 0.0
    sum_rt = 0.0
    for i in range(t.shape[0]):
        val, d1, _ = loss_derivs(code, scale * t[i] + b, y[i])
        f += s[i] * val
        ri = s[i] * d1
        r[i] = ri
        sum_r += ri
        sum_rt += ri * t[i]
    return f, sum_r, sum_rt


@jit
def weighted_sq_norm(t, s):
    """``sum_i s_i t_i^2`` = ``||w||_S^2`` when ``t = X_c w``."""
    acc = 0.0
    for i in range(t.shape[0]):
        acc += s[i] * t[i] * t[i]
    return acc


@jit
def dot(a, b):
    acc = 0.0
    for j in range(a.shape[0]):
        acc += a[j] * b[j]
    return acc


@jit
def value_grad(Xd, data, indices, indptr, sparse, xbar, code, y, s, alpha,
               coef, b, grad):
    """Objective and gradient in centered coordinates ``(w~, b)``, one pass.

    ``F(w~, b) = sum_i s_i l(x_ci^T w~ + b, y_i) + alpha/2 ||w~||^2``;
    ``grad <- X_c^T r + alpha w~`` with ``r = s * l'``. Returns ``(F, dF/db)``.

    Each row is read once: its margin, loss derivative and contribution to the
    gradient are computed while the row is in cache, so an iteration of gd
    costs one pass over ``X`` instead of a forward and a backward pass.
    """
    shift = 0.0
    for j in range(coef.shape[0]):
        shift += xbar[j] * coef[j]
    grad[:] = 0.0
    f = 0.0
    sum_r = 0.0
    n = y.shape[0]
    if sparse:
        for i in range(n):
            acc = 0.0
            for k in range(indptr[i], indptr[i + 1]):
                acc += data[k] * coef[indices[k]]
            val, d1, _ = loss_derivs(code, acc - shift + b, y[i])
            f += s[i] * val
            ri = s[i] * d1
            sum_r += ri
            if ri != 0.0:
                for k in range(indptr[i], indptr[i + 1]):
                    grad[indices[k]] += data[k] * ri
    else:
        d = Xd.shape[1]
        for i in range(n):
            acc = 0.0
            for j in range(d):
                acc += Xd[i, j] * coef[j]
            val, d1, _ = loss_derivs(code, acc - shift + b, y[i])
            f += s[i] * val
            ri = s[i] * d1
            sum_r += ri
            if ri != 0.0:
                for j in range(d):
                    grad[j] += Xd[i, j] * ri
    sq = 0.0
    for j in range(grad.shape[0]):
        grad[j] += alpha * coef[j] - xbar[j] * sum_r
        sq += coef[j] * coef[j]
    return f + 0.5 * alpha * sq, sum_r
