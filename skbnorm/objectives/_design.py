"""Matrix-free linear algebra on the centered design ``X_c = X - 1 xbar^T``.

``X`` is dense (C-contiguous, float32 or float64) or CSR. It is never copied,
densified or centered in memory: the passes use

* ``X_c w   = X w - (xbar^T w) 1``
* ``X_c^T a = X^T a - xbar (1^T a)``

Every pass is a serial kernel over a range of row blocks
(:func:`skbnorm._threads.n_blocks`, fixed by the shape), run on the package's
thread pool by :func:`skbnorm._threads.run_blocks`; the passes that sum over
rows write one partial result per block and add the partials in block order.
Accumulation is in float64. A result is therefore the same bit for bit
whatever the number of threads, and from run to run.
"""

import numpy as np
import scipy.sparse as sp
from scipy.linalg.blas import dsyrk

from .._numba import jit
from .._threads import block_sum, n_blocks, partials, run_blocks
from ._losses import loss_derivs
from ._rows import CSR, n_rows, row_axpy, row_axpy2, row_dot, row_sq_axpy


@jit
def dot(a, b):
    """``a . b`` summed in index order (a fixed rounding, unlike BLAS)."""
    acc = 0.0
    for j in range(a.shape[0]):
        acc += a[j] * b[j]
    return acc


@jit
def _matvec(X, w, shift, out, nb, b0, b1):
    n = n_rows(X)
    for blk in range(b0, b1):
        for i in range(blk * n // nb, (blk + 1) * n // nb):
            out[i] = row_dot(X, i, w) - shift


@jit
def _rmatvec(X, a, part, tot, nb, b0, b1):
    n = n_rows(X)
    for blk in range(b0, b1):
        acc = 0.0
        p = part[blk]
        for i in range(blk * n // nb, (blk + 1) * n // nb):
            ai = a[i]
            acc += ai
            row_axpy(X, i, ai, p)
        tot[blk, 0] = acc


@jit
def _rmatvec2(X, a, c, part_a, part_c, tot, nb, b0, b1):
    n = n_rows(X)
    for blk in range(b0, b1):
        ta = 0.0
        tc = 0.0
        pa = part_a[blk]
        pc = part_c[blk]
        for i in range(blk * n // nb, (blk + 1) * n // nb):
            ai = a[i]
            ci = c[i]
            ta += ai
            tc += ci
            row_axpy2(X, i, ai, ci, pa, pc)
        tot[blk, 0] = ta
        tot[blk, 1] = tc


@jit
def _value_grad(X, code, y, s, coef, shift, b, part, tot, nb, b0, b1):
    n = n_rows(X)
    for blk in range(b0, b1):
        f = 0.0
        sum_r = 0.0
        p = part[blk]
        for i in range(blk * n // nb, (blk + 1) * n // nb):
            val, d1, _ = loss_derivs(code, row_dot(X, i, coef) - shift + b, y[i])
            f += s[i] * val
            ri = s[i] * d1
            sum_r += ri
            if ri != 0.0:
                row_axpy(X, i, ri, p)
        tot[blk, 0] = f
        tot[blk, 1] = sum_r


@jit
def _col_sq(X, s, part, nb, b0, b1):
    n = n_rows(X)
    for blk in range(b0, b1):
        p = part[blk]
        for i in range(blk * n // nb, (blk + 1) * n // nb):
            row_sq_axpy(X, i, s[i], p)


@jit
def _hessian_csr(X, h, part, part_a, tot, nb, b0, b1):
    """Per block: ``sum h_i x_i x_i^T`` (pairs k <= l of each row), ``sum h_i x_i``."""
    n = n_rows(X)
    for blk in range(b0, b1):
        H = part[blk]
        a = part_a[blk]
        acc = 0.0
        for i in range(blk * n // nb, (blk + 1) * n // nb):
            hi = h[i]
            if hi == 0.0:
                continue
            acc += hi
            lo = X.indptr[i]
            up = X.indptr[i + 1]
            for k in range(lo, up):
                jk = X.indices[k]
                vk = hi * X.data[k]
                a[jk] += vk
                for m in range(k, up):
                    H[jk, X.indices[m]] += vk * X.data[m]
        tot[blk, 0] = acc


#: the dense Hessian is accumulated by BLAS over chunks of this many rows
#: (a centered, scaled copy of one chunk is the only temporary)
HESSIAN_BLOCK_ROWS = 2048
#: the CSR Hessian's per-block partial matrices may take this many bytes
HESSIAN_PARTIAL_BYTES = 64 << 20


def _dense_hessian_blocks(n, d):
    """Blocks of the dense Hessian: a function of the shape, with their
    ``d x d`` partial matrices within :data:`HESSIAN_PARTIAL_BYTES`."""
    by_rows = max(1, n // HESSIAN_BLOCK_ROWS)
    by_memory = max(1, HESSIAN_PARTIAL_BYTES // (8 * d * d + 1))
    return int(min(by_rows, by_memory, 16))


def _dense_hessian(X, xbar, h, sq, part, part_hx, nb, b0, b1):
    """Blocks ``b0 .. b1-1`` of the dense Hessian, by single-threaded BLAS.

    Runs on the package's threads with BLAS limited to one thread
    (:func:`skbnorm._threads.blas_single_thread`): each block's partial
    ``sum h_i x_ci x_ci^T`` (upper triangle) is accumulated over chunks of
    :data:`HESSIAN_BLOCK_ROWS` centered, scaled rows in a fixed order.
    """
    n = X.shape[0]
    for blk in range(b0, b1):
        lo, hi = blk * n // nb, (blk + 1) * n // nb
        C = part[blk]
        hx = part_hx[blk]
        for a in range(lo, hi, HESSIAN_BLOCK_ROWS):
            z = min(a + HESSIAN_BLOCK_ROWS, hi)
            B = np.subtract(X[a:z], xbar, dtype=np.float64)
            hx += h[a:z] @ B
            B *= sq[a:z, None]
            # B.T is Fortran-ordered, and so is C: syrk copies neither
            C = dsyrk(1.0, B.T, beta=1.0, c=C, trans=0, lower=0, overwrite_c=1)
        part[blk] = C


class Design:
    """A dense or CSR ``X`` with its weighted centering kept implicit.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features) or CSR matrix
        Dense input must be a C-contiguous float array; nothing is copied.
    xbar : ndarray of shape (n_features,), default=None
        The centering vector (zeros: an uncentered design).
    """

    def __init__(self, X, xbar=None):
        n, d = X.shape
        if sp.issparse(X):
            if X.format != "csr":
                raise TypeError("Design expects a CSR matrix; convert once before")
            self.X = CSR(X.data, X.indices, X.indptr)
            self.nnz = int(X.indptr[-1])
            self.sparse = True
        else:
            if not (X.flags.c_contiguous and X.dtype.kind == "f"):
                raise TypeError("Design expects a C-contiguous float array")
            self.X = X
            self.nnz = n * d
            self.sparse = False
        self.shape = (n, d)
        self.xbar = np.zeros(d) if xbar is None else np.asarray(xbar, np.float64)
        self.nb = int(n_blocks(n, d, self.nnz))

    def _shift(self, w):
        return dot(self.xbar, w)

    def matvec(self, w, out):
        """``out <- X_c w``."""
        run_blocks(_matvec, (self.X, w, self._shift(w), out, self.nb), self.nb,
                   self.nnz)
        return out

    def rmatvec(self, a, out):
        """``out <- X_c^T a``."""
        d = self.shape[1]
        part = partials(self.nb, d)
        tot = partials(self.nb, 1)
        run_blocks(_rmatvec, (self.X, a, part, tot, self.nb), self.nb, self.nnz)
        block_sum(part, out)
        total = np.empty(1)
        block_sum(tot, total)
        _sub_outer(out, self.xbar, total[0])
        return out

    def rmatvec2(self, a, c, out_a, out_c):
        """``out_a <- X_c^T a`` and ``out_c <- X_c^T c`` in one pass over ``X``."""
        d = self.shape[1]
        part_a = partials(self.nb, d)
        part_c = partials(self.nb, d)
        tot = partials(self.nb, 2)
        run_blocks(_rmatvec2, (self.X, a, c, part_a, part_c, tot, self.nb),
                   self.nb, self.nnz)
        block_sum(part_a, out_a)
        block_sum(part_c, out_c)
        sums = np.empty(2)
        block_sum(tot, sums)
        _sub_outer(out_a, self.xbar, sums[0])
        _sub_outer(out_c, self.xbar, sums[1])

    def value_grad(self, code, y, s, alpha, coef, b, grad):
        """Objective and gradient in centered coordinates ``(w~, b)``, one pass.

        ``F(w~, b) = sum_i s_i l(x_ci^T w~ + b, y_i) + alpha/2 ||w~||^2``;
        ``grad <- X_c^T r + alpha w~`` with ``r = s * l'``. Returns
        ``(F, dF/db)``. Each row is read once: its margin, loss derivative and
        contribution to the gradient are computed while it is in cache.
        """
        d = self.shape[1]
        part = partials(self.nb, d)
        tot = partials(self.nb, 2)
        run_blocks(_value_grad, (self.X, code, y, s, coef, self._shift(coef), b,
                                 part, tot, self.nb), self.nb, self.nnz)
        block_sum(part, grad)
        sums = np.empty(2)
        block_sum(tot, sums)
        return _finish_value_grad(grad, coef, self.xbar, alpha, sums[0], sums[1])

    def column_sq_means(self, s):
        """``sum_i s_i x_ij^2`` per column (uncentered)."""
        d = self.shape[1]
        part = partials(self.nb, d)
        run_blocks(_col_sq, (self.X, s, part, self.nb), self.nb, self.nnz)
        out = np.empty(d)
        block_sum(part, out)
        return out

    def hessian(self, h, intercept):
        """``X_c^T diag(h) X_c`` for ``h >= 0``, bordered by the intercept's row.

        Returns the ``d x d`` matrix, or with ``intercept`` the
        ``(d + 1) x (d + 1)`` Hessian of ``sum_i h_i (x_ci^T w + b)^2 / 2`` in
        ``(w, b)``: the last row and column are ``X_c^T h`` and ``sum h``.
        Dense designs are accumulated by BLAS over blocks of
        :data:`HESSIAN_BLOCK_ROWS` centered rows; CSR designs by a kernel over
        the sparse rows, centered afterwards (a rank-two correction).
        """
        n, d = self.shape
        m = d + 1 if intercept else d
        H = np.zeros((m, m))
        if self.sparse:
            nb = max(1, min(self.nb, HESSIAN_PARTIAL_BYTES // (8 * d * d + 1)))
            part = np.zeros((nb, d, d))
            part_a = partials(nb, d)
            tot = partials(nb, 1)
            work = self.nnz * max(1, self.nnz // max(n, 1))
            run_blocks(_hessian_csr, (self.X, h, part, part_a, tot, nb), nb, work)
            A = part.sum(axis=0)
            A = A + A.T - np.diag(np.diag(A))
            a = part_a.sum(axis=0)
            total = float(tot.sum())
            xb = self.xbar
            # sum h (x - xbar)(x - xbar)^T
            #     = A - xbar a^T - a xbar^T + (sum h) xbar xbar^T
            C = A - np.outer(xb, a) - np.outer(a, xb) + total * np.outer(xb, xb)
            # the correction rounds differently on either side of the diagonal
            H[:d, :d] = np.triu(C) + np.triu(C, 1).T
            hx = a - total * xb
        else:
            nb = _dense_hessian_blocks(n, d)
            part = [np.zeros((d, d), order="F") for _ in range(nb)]
            part_hx = partials(nb, d)
            run_blocks(_dense_hessian, (self.X, self.xbar, h, np.sqrt(h), part,
                                        part_hx, nb), nb, n * d * d // 8)
            C = part[0]
            for blk in range(1, nb):
                C = C + part[blk]
            C = np.triu(C)
            H[:d, :d] = C + C.T - np.diag(np.diag(C))
            hx = part_hx.sum(axis=0)
            total = float(np.sum(h))
        if intercept:
            H[:d, d] = hx
            H[d, :d] = hx
            H[d, d] = total
        return H


@jit
def _sub_outer(out, xbar, total):
    for j in range(out.shape[0]):
        out[j] -= xbar[j] * total


@jit
def _finish_value_grad(grad, coef, xbar, alpha, f, sum_r):
    sq = 0.0
    for j in range(grad.shape[0]):
        grad[j] += alpha * coef[j] - xbar[j] * sum_r
        sq += coef[j] * coef[j]
    return f + 0.5 * alpha * sq, sum_r


def as_design(X, xbar=None):
    """The :class:`Design` of ``X`` (kept for the public objective's callers)."""
    return Design(X, xbar)


def weighted_sq_norm(t, s):
    """``sum_i s_i t_i^2`` = ``||w||_S^2`` when ``t = X_c w``."""
    return _wsq(t, s)


@jit
def _wsq(t, s):
    acc = 0.0
    for i in range(t.shape[0]):
        acc += s[i] * t[i] * t[i]
    return acc
