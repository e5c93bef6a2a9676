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

from .._numba import jit, jit_reassoc
from .._threads import (
    MIN_PARALLEL_WORK,
    ROW_WORK,
    block_sum,
    n_blocks,
    partials,
    run_blocks,
)
from ._losses import loss_derivs
from ._margins import (
    FUSED_MIN_ROWS,
    combine_columns,
    combine_pair,
    fill_subspace,
    margin_pass,
    subspace_eval,
)
from ._rows import (
    CSR,
    n_rows,
    row_axpy,
    row_axpy2,
    row_dot,
    rows_dot,
    sub_rows,
)


@jit
def dot(a, b):
    """``a . b`` summed in index order (a fixed rounding, unlike BLAS)."""
    acc = 0.0
    for j in range(a.shape[0]):
        acc += a[j] * b[j]
    return acc


def column_sums(R):
    """``R.sum(axis=0)`` of a C-ordered ``n x K`` array, by ``einsum``.

    NumPy's reduction along the rows' axis took 32 us on digits' 1347 x 10
    residuals, ``einsum`` 7 us (a fixed order, no BLAS: the same sums for
    any number of threads).
    """
    return np.einsum("ij->j", R)


@jit
def _matvec(X, w, shift, out, nb, b0, b1):
    n = n_rows(X)
    for blk in range(b0, b1):
        rows_dot(X, blk * n // nb, (blk + 1) * n // nb, w, shift, out)


@jit
def _column_sq(X, s, part, nb, b0, b1):
    # dense only: float64 squares of float32 values too (no overflow at 1e19)
    n = X.shape[0]
    d = X.shape[1]
    for blk in range(b0, b1):
        p = part[blk]
        for i in range(blk * n // nb, (blk + 1) * n // nb):
            si = s[i]
            for j in range(d):
                v = np.float64(X[i, j])
                p[j] += si * (v * v)


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


# The fused passes below run in sub-blocks of rows: a sub-block runs its
# margins, its losses and its backward products as three loops, its rows
# staying in cache between them. One loop doing all three per row was
# 15-20% slower (a9a, one thread: 1.86 against 1.52 ms a pass on CSR, 4.9
# against 4.3 dense): the loss's exp and log1p stall the row gathers and
# scatters around them. Every sum runs in the rows' order whatever the
# size, so the size changes no value. The size is ``sub_rows``' (by design
# type, and for dense rows by width, see :mod:`._rows`).


@jit
def _value_grad(X, code, y, s, coef, shift, b, part, tot, nb, b0, b1):
    n = n_rows(X)
    sub = sub_rows(X)
    buf = np.empty(sub)  # a sub-block's margins, then its r = s l'
    for blk in range(b0, b1):
        f = 0.0
        sum_r = 0.0
        p = part[blk]
        top = (blk + 1) * n // nb
        for lo in range(blk * n // nb, top, sub):
            hi = min(lo + sub, top)
            for i in range(lo, hi):
                buf[i - lo] = row_dot(X, i, coef) - shift + b
            for i in range(lo, hi):
                val, d1, _ = loss_derivs(code, buf[i - lo], y[i])
                f += s[i] * val
                ri = s[i] * d1
                sum_r += ri
                buf[i - lo] = ri
            for i in range(lo, hi):
                ri = buf[i - lo]
                if ri != 0.0:
                    row_axpy(X, i, ri, p)
        tot[blk, 0] = f
        tot[blk, 1] = sum_r


@jit
def _matmat(X, W, shift, out, nb, b0, b1):
    n = n_rows(X)
    K = W.shape[0]
    for blk in range(b0, b1):
        for i in range(blk * n // nb, (blk + 1) * n // nb):
            for k in range(K):
                out[i, k] = row_dot(X, i, W[k]) - shift[k]


@jit
def _rmatmat(X, R, part, tot, nb, b0, b1):
    n = n_rows(X)
    K = R.shape[1]
    for blk in range(b0, b1):
        p = part[blk]
        t = tot[blk]
        for i in range(blk * n // nb, (blk + 1) * n // nb):
            for k in range(K):
                a = R[i, k]
                t[k] += a
                row_axpy(X, i, a, p[k])


@jit
def _loss_rmatvec2(X, code, t, scale, b, y, s, r, r2, w, shift, have_r, part_a,
                   part_c, tot, nb, b0, b1):
    # dense sub-blocks of sub_rows' 4 KB here too (256 rows once, as on CSR):
    # bn's pass on dense a9a 1.37 against 1.72 ms, wn's 1.24 against 1.46
    # (two threads, five rounds alternating), the same on 50000 x 20 and
    # within the noise on 100000 x 400
    n = n_rows(X)
    keep_r2 = r2.shape[0] > 0 and not have_r
    margins = w.shape[0] > 0
    keep_c = part_c.shape[1] > 0
    sub = sub_rows(X)
    for blk in range(b0, b1):
        f = 0.0
        sum_r = 0.0
        sum_rt = 0.0
        e1 = 0.0
        e2 = 0.0
        sum_st = 0.0
        sum_stt = 0.0
        pa = part_a[blk]
        pc = part_c[blk]
        top = (blk + 1) * n // nb
        for lo in range(blk * n // nb, top, sub):
            hi = min(lo + sub, top)
            if margins:
                # the margins of w in the same pass, while the rows are in cache
                for i in range(lo, hi):
                    t[i] = row_dot(X, i, w) - shift
            for i in range(lo, hi):
                si = s[i]
                if have_r:
                    # r = s l' is known (a subspace step's last trial): no loss
                    ri = r[i]
                    d2 = 0.0
                else:
                    val, d1, d2 = loss_derivs(code, scale * t[i] + b, y[i])
                    f += si * val
                    ri = si * d1
                    r[i] = ri
                sum_r += ri
                sum_rt += ri * t[i]
                e1 -= y[i] * ri
                e2 += si * d2
                if keep_r2:
                    r2[i] = si * d2
                st = si * t[i]
                sum_st += st
                sum_stt += st * t[i]
            if keep_c:
                for i in range(lo, hi):
                    row_axpy2(X, i, r[i], s[i] * t[i], pa, pc)
            else:
                for i in range(lo, hi):
                    row_axpy(X, i, r[i], pa)
        tot[blk, 0] = f
        tot[blk, 1] = sum_r
        tot[blk, 2] = sum_rt
        tot[blk, 3] = e1
        tot[blk, 4] = e2
        tot[blk, 5] = sum_st
        tot[blk, 6] = sum_stt


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


_EMPTY = np.empty(0)

#: how many times cheaper a stored value times a column is in the dense
#: K-column products than a stored value of a pass (see Design._matmat_work)
DENSE_MATMAT_RATE = 16

#: the dense Hessian is accumulated by BLAS over chunks of this many rows
#: (a centered, scaled copy of one chunk is the only temporary)
HESSIAN_BLOCK_ROWS = 2048
#: the CSR Hessian's per-block partial matrices may take this many bytes
HESSIAN_PARTIAL_BYTES = 64 << 20
#: the CSR Hessian forms a block's ``d x d`` partial matrix only where the
#: block's row pairs number this many times its entries: zeroing, faulting
#: in and adding a partial cost about an entry's time each, and with a
#: block for each of the design's 63 row blocks they took half of a9a's
#: Hessian (2.7 of 5.4 ms in a fit: 7.6 MB of fresh pages)
HESSIAN_PAIRS_PER_ENTRY = 32
#: at most this many blocks for either Hessian (as many threads)
HESSIAN_MAX_BLOCKS = 16


def _dense_hessian_blocks(n, d):
    """Blocks of the dense Hessian: a function of the shape, with their
    ``d x d`` partial matrices within :data:`HESSIAN_PARTIAL_BYTES`."""
    by_rows = max(1, n // HESSIAN_BLOCK_ROWS)
    by_memory = max(1, HESSIAN_PARTIAL_BYTES // (8 * d * d + 1))
    return int(min(by_rows, by_memory, HESSIAN_MAX_BLOCKS))


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
        self._constant = None  # (weights, constant columns) of the last call
        self._pairs = None  # row_pair_count(), once asked

    def _shift(self, w):
        return dot(self.xbar, w)

    # the per-row vectors: arrays here (a chunked design keeps them in parts
    # with its row chunks, see :mod:`._chunked`)

    #: whether the rows are in chunks elsewhere (:mod:`._chunked`)
    chunked = False

    def empty_rows(self, width=None):
        """A per-row vector to be written by a pass (``width`` columns: an
        ``n x width`` array)."""
        return np.empty(self.shape[0] if width is None
                        else (self.shape[0], width))

    def full_rows(self, value, width=None):
        """A per-row vector of ``value`` (``width`` columns: an ``n x width``
        C-ordered array)."""
        shape = self.shape[0] if width is None else (self.shape[0], width)
        return np.full(shape, value, dtype=np.float64)

    def weighted_sq_norm(self, t, s):
        """``sum_i s_i t_i^2``."""
        return _wsq(t, s)

    def margin_pass(self, code, t, scale, b, y, s, r, r2):
        """:func:`~._margins.margin_pass` on per-row vectors of this design."""
        return margin_pass(code, t, scale, b, y, s, r, r2)

    def subspace_eval(self, code, T, cols, c, b, y, s, r, r2, cached=False):
        """:func:`~._margins.subspace_eval` on per-row vectors of this design."""
        return subspace_eval(code, T, cols, c, b, y, s, r, r2, cached)

    def fill_subspace(self, T, t, inv, tg, tp, has_dir, have_p):
        """:func:`~._margins.fill_subspace` on per-row vectors of this design."""
        fill_subspace(T, t, inv, tg, tp, has_dir, have_p)

    def combine_pair(self, T, cols, c, dc, s):
        """:func:`~._margins.combine_pair` on per-row vectors of this design
        (NumPy's column operations, the same values, on few rows)."""
        if T.shape[0] >= FUSED_MIN_ROWS:
            return combine_pair(T, cols, c, dc, s)
        tt = combine_columns(T, cols, c)
        tp = combine_columns(T, cols, dc)
        return tt, tp, _wsq(tt, s), _wsq(tp, s)

    def row_pair_count(self):
        """``sum_i k_i (k_i + 1) / 2`` over the rows' stored values ``k_i``
        (the products a CSR Hessian pass forms)."""
        if not self.sparse:
            d = self.shape[1]
            return self.shape[0] * d * (d + 1) / 2.0
        if self._pairs is None:
            # (a ufunc sum, not BLAS's dot: OpenBLAS's threads wake for a dot
            # of this length and then spin for a tenth of a second, next to
            # the fit's passes on the same cores)
            k = np.diff(self.X.indptr).astype(np.float64)
            self._pairs = float(np.sum(k * (k + 1.0))) / 2.0
        return self._pairs

    def _csr_hessian_blocks(self):
        """Blocks of the CSR Hessian: a function of the design alone (so the
        sums, and the fit, are the same for any number of threads)."""
        d = self.shape[1]
        entries = d * d + 1
        by_work = int(self.row_pair_count() // (HESSIAN_PAIRS_PER_ENTRY * entries))
        by_memory = HESSIAN_PARTIAL_BYTES // (8 * entries)
        return max(1, min(self.nb, by_work, by_memory, HESSIAN_MAX_BLOCKS))

    def matrix(self):
        """``X`` as given: the dense array, or a scipy CSR matrix sharing its
        arrays (no copy)."""
        if not self.sparse:
            return self.X
        return sp.csr_matrix((self.X.data, self.X.indices, self.X.indptr),
                             shape=self.shape, copy=False)

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

    def _matmat_work(self, K):
        """The work of a ``K``-column product, in :func:`run_blocks`' units."""
        if self.sparse:
            return self.nnz * K
        # dense rows vectorise across the K columns: a stored value times a
        # column costs a sixteenth of a value of a pass (0.11 ns against
        # 1.7, measured); counted in full, digits' ten-class products (95 us)
        # were shared between two threads and took 116 us
        return self.nnz * K // DENSE_MATMAT_RATE

    def _blas_products(self):
        # a float64 dense X goes to BLAS as it is (a float32 one would be
        # copied to float64 for every product): the multinomial solver, the
        # caller of these products, runs BLAS on one thread, so that the
        # rounding does not depend on the number of threads. Measured on
        # digits (1347 x 64, ten classes, one thread): R^T X 23 against 101
        # us in the kernel, X W^T 62 against 80 us
        return not self.sparse and self.X.dtype == np.float64

    def matmat(self, W, out):
        """``out <- X_c W^T`` for ``W`` of shape ``(K, n_features)``."""
        shift = W @ self.xbar
        if self._blas_products():
            # W^T copied to C order (K d values): OpenBLAS's one-thread gemm
            # took 95 us with the transposed view and 45 us with the copy on
            # digits (1347 x 64, ten classes), the same or less at other
            # shapes measured (133 x 13 x 3, 15000 x 50 x 4, 5000 x 200 x 10)
            np.matmul(self.X, np.ascontiguousarray(W.T), out=out)
            out -= shift
            return out
        run_blocks(_matmat, (self.X, W, shift, out, self.nb), self.nb,
                   self._matmat_work(W.shape[0]))
        return out

    def rmatmat(self, R, out, sums=None):
        """``out <- R^T X_c`` (``K x n_features``) for ``R`` of shape ``(n, K)``.

        ``sums``: :func:`column_sums` of ``R`` when the caller has them (the
        multinomial solver needs them for the intercepts' gradient too). Only
        the BLAS path reads them: the compiled pass adds up ``R``'s columns
        as it reads its rows, at no extra pass.
        """
        if self._blas_products():
            np.matmul(R.T, self.X, out=out)
            if sums is None:
                sums = column_sums(R)
            out -= np.outer(sums, self.xbar)
            return out
        K = R.shape[1]
        d = self.shape[1]
        nb = max(1, min(self.nb, HESSIAN_PARTIAL_BYTES // (8 * K * d + 1)))
        part = np.zeros((nb, K, d))
        tot = partials(nb, K)
        run_blocks(_rmatmat, (self.X, R, part, tot, nb), nb,
                   self._matmat_work(K))
        out[:] = part[0]
        for blk in range(1, nb):
            out += part[blk]
        total = tot[0].copy()
        for blk in range(1, nb):
            total += tot[blk]
        out -= np.outer(total, self.xbar)
        return out

    def loss_rmatvec2(self, code, t, scale, b, y, s, r, r2, G, Sw, w=None,
                      have_r=False):
        """The loss at margins ``scale t + b`` and ``G <- X_c^T r``,
        ``Sw <- X_c^T (s t)``, ``r = s l'``, in one pass over ``X``.

        The margin pass and the fused backward pass of the BN solvers in
        one (``Sw=None``: ``X_c^T (s t)`` is not formed, a third less work
        for the solvers that need only ``sum s t^2``): returns
        ``(sum s l, sum r, sum r t, E[phi'], E[phi''], sum s t^2)`` (see
        :func:`~skbnorm.objectives._margins.margin_pass`); unless ``r2`` is
        empty it receives ``s l''``. With ``w`` the margins ``t <- X_c w``
        are computed in the same pass (when ``scale`` does not depend on
        them: weight normalization's ``g/||w||_2``). With ``have_r`` the
        given ``r`` is used and the loss is not evaluated (its sums are 0).
        """
        d = self.shape[1]
        part_a = partials(self.nb, d)
        part_c = partials(self.nb, d if Sw is not None else 0)
        tot = partials(self.nb, 7)
        if w is None:
            w, shift = _EMPTY, 0.0
        else:
            shift = self._shift(w)
        run_blocks(_loss_rmatvec2, (self.X, code, t, scale, b, y, s, r, r2, w,
                                    shift, have_r, part_a, part_c, tot,
                                    self.nb),
                   self.nb, self.nnz * (2 if w.shape[0] else 1)
                   + (0 if have_r else ROW_WORK * self.shape[0]))
        block_sum(part_a, G)
        sums = np.empty(7)
        block_sum(tot, sums)
        _sub_outer(G, self.xbar, sums[1])
        if Sw is not None:
            block_sum(part_c, Sw)
            _sub_outer(Sw, self.xbar, sums[5])
        return sums[0], sums[1], sums[2], sums[3], sums[4], sums[6]

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

    def constant_columns(self, s, check=None):
        """Columns whose weighted variance (weights ``s``) vanishes up to
        rounding; ``check`` sees the columns' mean squares first.

        One pass over ``X``, remembered for the last ``s``: the one-vs-rest
        problems of a classifier share ``X`` and ``s``, and each asked again
        (K passes, and K checks of the columns' magnitudes).
        """
        if self._constant is not None and self._constant[0] is s:
            return self._constant[1]
        sq = self.column_sq_means(s)
        if check is not None:
            check(sq)
        var = sq - self.xbar * self.xbar
        constant = var <= 1e-20 * sq
        self._constant = (s, constant)
        return constant

    def column_sq_means(self, s):
        """``sum_i s_i x_ij^2`` per column (uncentered), chunk by chunk
        (``inf`` where the squares overflow: the caller tells the user)."""
        with np.errstate(over="ignore"):
            return self._column_sq_means(s)

    def _column_sq_means(self, s):
        n, d = self.shape
        out = np.zeros(d)
        if self.sparse and self.X.data.dtype == np.float64:
            # X^T s on the squared values, by the compiled backward pass a
            # fit uses anyway (0.6 against 1.4 ms on a9a); float32 values
            # are squared in float64 below instead (no overflow at 1e19, and
            # no second specialisation of the pass to compile)
            X2 = CSR(np.square(self.X.data), self.X.indices, self.X.indptr)
            part = partials(self.nb, d)
            tot = partials(self.nb, 1)
            run_blocks(_rmatvec, (X2, s, part, tot, self.nb), self.nb, self.nnz)
            block_sum(part, out)
            return out
        if self.sparse:
            # rows in chunks of about 2^16 stored values: bounded temporaries
            X = self.X
            indptr = X.indptr
            lo = 0
            while lo < n:
                hi = int(np.searchsorted(indptr, indptr[lo] + (1 << 16),
                                         side="right")) - 1
                hi = min(max(hi, lo + 1), n)
                a, z = indptr[lo], indptr[hi]
                v = X.data[a:z].astype(np.float64)
                w = np.repeat(s[lo:hi], np.diff(indptr[lo:hi + 1]))
                out += np.bincount(X.indices[a:z], weights=w * v * v,
                                   minlength=d)
                lo = hi
            return out
        # one pass in the package's threads (NumPy's blocks of squares took
        # 45 ms on 100000 x 400, about four passes' time); the partial sums
        # added in block order, as every pass's
        part = partials(self.nb, d)
        run_blocks(_column_sq, (self.X, s, part, self.nb), self.nb, self.nnz)
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
            nb = self._csr_hessian_blocks()
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
        elif n <= HESSIAN_BLOCK_ROWS:
            # one chunk: no blocks to share among threads (uncentered, as
            # benchopt's problems are, no centered copy: the same values)
            sq = np.sqrt(h)[:, None]
            if np.any(self.xbar):
                B = np.subtract(self.X, self.xbar, dtype=np.float64)
                hx = h @ B
                B *= sq
            else:
                hx = h @ self.X
                B = np.multiply(self.X, sq, dtype=np.float64)
            H[:d, :d] = B.T @ B
            total = float(np.sum(h))
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


def _sub_outer(out, xbar, total):
    """``out -= xbar * total`` (the centering of a backward pass)."""
    out -= xbar * total


@jit
def _finish_value_grad(grad, coef, xbar, alpha, f, sum_r):
    sq = 0.0
    for j in range(grad.shape[0]):
        grad[j] += alpha * coef[j] - xbar[j] * sum_r
        sq += coef[j] * coef[j]
    return f + 0.5 * alpha * sq, sum_r


@jit_reassoc
def _finite_blocks(X, flags, nb, b0, b1):
    # x * 0 is 0 for a finite x and NaN for inf or NaN: a block's sum of
    # them is NaN exactly when the block holds a non-finite value, and no
    # sum of X itself can overflow on the way
    n = X.shape[0]
    d = X.shape[1]
    for blk in range(b0, b1):
        acc = 0.0
        for i in range(blk * n // nb, (blk + 1) * n // nb):
            for j in range(d):
                acc += X[i, j] * 0.0
        flags[blk] = acc


def dense_all_finite(X):
    """Whether the dense C-ordered array ``X`` holds no NaN or inf.

    Large arrays in one pass in the package's threads: 9.4 ms on 100000 x
    400, where ``np.isfinite(np.sum(X))`` (scikit-learn's first test, which
    an overflowing sum fails) takes 17.6 ms on one thread.
    """
    n, d = X.shape
    if n * d < MIN_PARALLEL_WORK:
        # one thread either way, and NumPy calls no kernel (2.6 against 7 us
        # on 1000 x 10)
        return bool(np.isfinite(X).all())
    nb = int(n_blocks(n, d, n * d))
    flags = np.zeros(nb)
    run_blocks(_finite_blocks, (X, flags, nb), nb, n * d)
    return not np.isnan(flags).any()


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
