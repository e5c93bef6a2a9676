"""Matrix-free linear algebra on the centered design ``X_c = X - 1 xbar^T``.

``X`` is dense (C-contiguous, float32 or float64) or CSR. It is never copied,
densified or centered in memory: the kernels use

* ``X_c w   = X w - (xbar^T w) 1``
* ``X_c^T a = X^T a - xbar (1^T a)``

A design is passed to every kernel as the five arguments
``(Xd, data, indices, indptr, sparse)``: ``Xd`` is the dense array (an empty
2-D array when ``sparse``), the next three are the CSR arrays (empty when
dense).

Threads and determinism: the row-wise passes (margins, loss) run in parallel
over rows; the passes that sum over rows (``X^T a``, the loss, its
contractions) split the rows into :func:`n_blocks` blocks, a number fixed by
the shape of the problem alone, sum each block into its own partial result in
parallel and then add the partials serially in block order. Accumulation is in
float64. A result is therefore the same bit for bit whatever the number of
threads, and from run to run.
"""

import numpy as np
import scipy.sparse as sp
from numba import prange

from .._numba import jit, jit_reassoc, pjit
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


#: a block has at least this many rows: a smaller share of a pass costs less
#: than waking a thread for it
MIN_BLOCK_ROWS = 512
#: more blocks than this buys no balance on any machine we target, and the
#: serial reduction of the partial sums costs ``n_blocks * d``
MAX_BLOCKS = 64


@jit
def n_blocks(n, d, nnz):
    """Number of row blocks of a pass over ``nnz`` entries of an ``n x d`` design.

    A function of the shape alone, so that the partial sums, and hence every
    result, do not depend on the number of threads. The serial reduction of
    the ``n_blocks x d`` partial sums is kept below an eighth of the pass.
    """
    nb = min(n // MIN_BLOCK_ROWS, MAX_BLOCKS)
    if d > 0:
        nb = min(nb, nnz // (8 * d))
    return max(nb, 1)


@jit
def block_sum(part, out):
    """``out[q] <- sum_blk part[blk, q]``, added in block order (fixed rounding)."""
    out[:] = 0.0
    for blk in range(part.shape[0]):
        for q in range(part.shape[1]):
            out[q] += part[blk, q]


@jit
def design_nnz(Xd, indptr, sparse):
    """Entries a pass over the design reads."""
    if sparse:
        return indptr[indptr.shape[0] - 1]
    return Xd.shape[0] * Xd.shape[1]


@jit_reassoc
def row_dot(Xd, i, w):
    """``Xd[i] . w``: vectorised (the only sum the package lets LLVM reorder)."""
    acc = 0.0
    for j in range(w.shape[0]):
        acc += Xd[i, j] * w[j]
    return acc


@jit
def _forward_rows(Xd, data, indices, indptr, sparse, w, shift, out, lo, hi):
    if sparse:
        for i in range(lo, hi):
            acc = 0.0
            for k in range(indptr[i], indptr[i + 1]):
                acc += data[k] * w[indices[k]]
            out[i] = acc - shift
    else:
        for i in range(lo, hi):
            out[i] = row_dot(Xd, i, w) - shift


@pjit
def forward(Xd, data, indices, indptr, sparse, xbar, w, out):
    """``out <- X_c w`` (``xbar`` may be all zeros for an uncentered design)."""
    shift = dot(xbar, w)
    n = out.shape[0]
    nb = n_blocks(n, w.shape[0], design_nnz(Xd, indptr, sparse))
    if nb == 1:
        _forward_rows(Xd, data, indices, indptr, sparse, w, shift, out, 0, n)
    else:
        for blk in prange(nb):
            _forward_rows(Xd, data, indices, indptr, sparse, w, shift, out,
                          blk * n // nb, (blk + 1) * n // nb)


@jit
def _backward_rows(Xd, data, indices, indptr, sparse, a, out, lo, hi):
    """``out += X[lo:hi]^T a[lo:hi]``; returns ``sum(a[lo:hi])``."""
    total = 0.0
    if sparse:
        for i in range(lo, hi):
            ai = a[i]
            total += ai
            for k in range(indptr[i], indptr[i + 1]):
                out[indices[k]] += data[k] * ai
    else:
        d = Xd.shape[1]
        for i in range(lo, hi):
            ai = a[i]
            total += ai
            for j in range(d):
                out[j] += Xd[i, j] * ai
    return total


@pjit
def backward(Xd, data, indices, indptr, sparse, xbar, a, out):
    """``out <- X_c^T a``."""
    n = a.shape[0]
    d = out.shape[0]
    nb = n_blocks(n, d, design_nnz(Xd, indptr, sparse))
    out[:] = 0.0
    if nb == 1:
        total = _backward_rows(Xd, data, indices, indptr, sparse, a, out, 0, n)
    else:
        part = np.zeros((nb, d))
        tot = np.zeros(nb)
        for blk in prange(nb):
            tot[blk] = _backward_rows(Xd, data, indices, indptr, sparse, a,
                                      part[blk], blk * n // nb,
                                      (blk + 1) * n // nb)
        block_sum(part, out)
        total = 0.0
        for blk in range(nb):
            total += tot[blk]
    for j in range(d):
        out[j] -= xbar[j] * total


@jit
def _backward2_rows(Xd, data, indices, indptr, sparse, a, c, out_a, out_c, lo,
                    hi):
    tot_a = 0.0
    tot_c = 0.0
    if sparse:
        for i in range(lo, hi):
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
        for i in range(lo, hi):
            ai = a[i]
            ci = c[i]
            tot_a += ai
            tot_c += ci
            for j in range(d):
                v = Xd[i, j]
                out_a[j] += v * ai
                out_c[j] += v * ci
    return tot_a, tot_c


@pjit
def backward2(Xd, data, indices, indptr, sparse, xbar, a, c, out_a, out_c):
    """``out_a <- X_c^T a`` and ``out_c <- X_c^T c`` in one pass over ``X``.

    The normalised solvers need both ``X_c^T r`` (the gradient) and
    ``X_c^T (s * t) = S w``; fusing them reads ``X`` once.
    """
    n = a.shape[0]
    d = out_a.shape[0]
    nb = n_blocks(n, d, design_nnz(Xd, indptr, sparse))
    out_a[:] = 0.0
    out_c[:] = 0.0
    if nb == 1:
        tot_a, tot_c = _backward2_rows(Xd, data, indices, indptr, sparse, a, c,
                                       out_a, out_c, 0, n)
    else:
        part_a = np.zeros((nb, d))
        part_c = np.zeros((nb, d))
        tot = np.zeros((nb, 2))
        for blk in prange(nb):
            ta, tc = _backward2_rows(Xd, data, indices, indptr, sparse, a, c,
                                     part_a[blk], part_c[blk], blk * n // nb,
                                     (blk + 1) * n // nb)
            tot[blk, 0] = ta
            tot[blk, 1] = tc
        block_sum(part_a, out_a)
        block_sum(part_c, out_c)
        sums = np.empty(2)
        block_sum(tot, sums)
        tot_a = sums[0]
        tot_c = sums[1]
    for j in range(d):
        out_a[j] -= xbar[j] * tot_a
        out_c[j] -= xbar[j] * tot_c


@jit
def _margin_loss_rows(code, t, scale, b, y, s, r, lo, hi):
    f = 0.0
    sum_r = 0.0
    sum_rt = 0.0
    for i in range(lo, hi):
        val, d1, _ = loss_derivs(code, scale * t[i] + b, y[i])
        f += s[i] * val
        ri = s[i] * d1
        r[i] = ri
        sum_r += ri
        sum_rt += ri * t[i]
    return f, sum_r, sum_rt


@pjit
def margin_loss(code, t, scale, b, y, s, r):
    """Weighted loss of margins ``m = scale * t + b``; ``r <- s * l'(m, y)``.

    Returns ``(sum_i s_i l(m_i), sum_i r_i, sum_i r_i t_i)``: the data term and
    the two contractions the scale/intercept derivatives need, all in O(n).
    """
    n = t.shape[0]
    nb = n_blocks(n, 1, n)
    if nb == 1:
        return _margin_loss_rows(code, t, scale, b, y, s, r, 0, n)
    part = np.zeros((nb, 3))
    for blk in prange(nb):
        a0, a1, a2 = _margin_loss_rows(code, t, scale, b, y, s, r,
                                       blk * n // nb, (blk + 1) * n // nb)
        part[blk, 0] = a0
        part[blk, 1] = a1
        part[blk, 2] = a2
    sums = np.empty(3)
    block_sum(part, sums)
    return sums[0], sums[1], sums[2]


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
def _value_grad_rows(Xd, data, indices, indptr, sparse, code, y, s, coef,
                     shift, b, grad, lo, hi):
    """Rows ``lo:hi`` of :func:`value_grad`: ``grad += X^T r``; ``(sum s l, sum r)``."""
    f = 0.0
    sum_r = 0.0
    if sparse:
        for i in range(lo, hi):
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
        for i in range(lo, hi):
            val, d1, _ = loss_derivs(code, row_dot(Xd, i, coef) - shift + b,
                                     y[i])
            f += s[i] * val
            ri = s[i] * d1
            sum_r += ri
            if ri != 0.0:
                for j in range(d):
                    grad[j] += Xd[i, j] * ri
    return f, sum_r


@pjit
def value_grad(Xd, data, indices, indptr, sparse, xbar, code, y, s, alpha,
               coef, b, grad):
    """Objective and gradient in centered coordinates ``(w~, b)``, one pass.

    ``F(w~, b) = sum_i s_i l(x_ci^T w~ + b, y_i) + alpha/2 ||w~||^2``;
    ``grad <- X_c^T r + alpha w~`` with ``r = s * l'``. Returns ``(F, dF/db)``.

    Each row is read once: its margin, loss derivative and contribution to the
    gradient are computed while the row is in cache, so an iteration of gd
    costs one pass over ``X`` instead of a forward and a backward pass.
    """
    shift = dot(xbar, coef)
    n = y.shape[0]
    d = coef.shape[0]
    nb = n_blocks(n, d, design_nnz(Xd, indptr, sparse))
    grad[:] = 0.0
    if nb == 1:
        f, sum_r = _value_grad_rows(Xd, data, indices, indptr, sparse, code, y,
                                    s, coef, shift, b, grad, 0, n)
    else:
        part = np.zeros((nb, d))
        tot = np.zeros((nb, 2))
        for blk in prange(nb):
            fb, rb = _value_grad_rows(Xd, data, indices, indptr, sparse, code,
                                      y, s, coef, shift, b, part[blk],
                                      blk * n // nb, (blk + 1) * n // nb)
            tot[blk, 0] = fb
            tot[blk, 1] = rb
        block_sum(part, grad)
        sums = np.empty(2)
        block_sum(tot, sums)
        f = sums[0]
        sum_r = sums[1]
    sq = 0.0
    for j in range(d):
        grad[j] += alpha * coef[j] - xbar[j] * sum_r
        sq += coef[j] * coef[j]
    return f + 0.5 * alpha * sq, sum_r
