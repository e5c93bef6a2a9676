"""Row primitives of a design matrix, chosen when a kernel is compiled.

A design is either a dense C-contiguous float array or a :class:`CSR` record
of the three CSR arrays. The primitives below are ``numba.extending``
overloads: a kernel written once in terms of them compiles, for each type of
design it is called with, the one branch that type needs (scikit-learn's
``ArrayDataset`` / ``CSRDataset`` split, decided by numba's type dispatch
instead of a run-time flag).
"""

from collections import namedtuple

import numpy as np
from numba import types
from numba.extending import overload

from .._numba import JIT_OPTIONS, jit_reassoc

#: the CSR arrays of a sparse design: ``data``, ``indices``, ``indptr``
CSR = namedtuple("CSR", ["data", "indices", "indptr"])


def _is_dense(X):
    return isinstance(X, types.Array)


@jit_reassoc
def dense_row_dot(X, i, w):
    """``X[i] . w``: vectorised (the only sum the package lets LLVM reorder)."""
    acc = 0.0
    for j in range(w.shape[0]):
        acc += X[i, j] * w[j]
    return acc


# Each primitive's Python body is what runs without the JIT
# (NUMBA_DISABLE_JIT=1); compiled kernels use its overload below.
#
# The overloads are calls (inline="never"), compiled once per signature and
# linked into each kernel, whose module LLVM optimises whole (it can inline
# them there). Inlined in numba's IR instead, their bodies were typed again
# at every call site: the cold first fit of NormalizedLogisticRegression()
# on breast_cancer took 2.82 s dense and 2.88 s CSR against 2.66 and 2.33 s
# as calls. Iterations cost the same (a9a CSR and dense, dense 100000 x 400:
# within 2-4%, in both directions; the 30% a CSR pass once lost to calls,
# in reference counting of the CSR record, no longer shows) and fits give
# the same bits.


def n_rows(X):
    """Number of rows of the design."""
    if isinstance(X, CSR):
        return X.indptr.shape[0] - 1
    return X.shape[0]


@overload(n_rows, jit_options=JIT_OPTIONS, inline="never")
def _n_rows(X):
    if _is_dense(X):
        return lambda X: X.shape[0]
    return lambda X: X.indptr.shape[0] - 1


#: bytes of dense rows per sub-block of the fused passes (the value and
#: gradient, :func:`~skbnorm.objectives._design._value_grad`, and the loss with
#: its backward products, ``_loss_rmatvec2``): a sub-block stays in L1
#: between its margins and its backward product. Four rows at 123 columns
#: (a9a dense) and one row at 400 (3.9 and 3.2 KB): 2.0 against 2.4 ms a
#: pass on dense a9a with four rows against one, 16-18 against 21-23 ms on
#: dense 100000 x 400 with one row against four (one thread, five rounds
#: alternating; 256 rows were 15-25% slower than four on an earlier
#: machine). CSR rows are short and scattered: 256 rows, the size measured
#: best on a9a when the sub-blocks were introduced. Every sum runs in the
#: rows' order, so the size changes no value. Numba's cache keys a kernel
#: on its own file: after changing these, delete the cached ``_design``
#: kernels
DENSE_SUB_BYTES = 4096
CSR_SUB_ROWS = 256


def sub_rows(X):
    """Rows per sub-block of a fused pass over this design."""
    if isinstance(X, CSR):
        return CSR_SUB_ROWS
    return max(1, DENSE_SUB_BYTES // (X.dtype.itemsize * max(X.shape[1], 1)))


@overload(sub_rows, jit_options=JIT_OPTIONS, inline="never")
def _sub_rows(X):
    if _is_dense(X):
        row_bytes = X.dtype.bitwidth // 8

        def impl(X):
            return max(1, DENSE_SUB_BYTES // (row_bytes * max(X.shape[1], 1)))

        return impl
    return lambda X: CSR_SUB_ROWS


def row_dot(X, i, w):
    """``x_i . w`` accumulated in float64."""
    if not isinstance(X, CSR):
        return dense_row_dot(X, i, w)
    acc = 0.0
    for k in range(X.indptr[i], X.indptr[i + 1]):
        acc += X.data[k] * w[X.indices[k]]
    return acc


@overload(row_dot, jit_options=JIT_OPTIONS, inline="never")
def _row_dot(X, i, w):
    if _is_dense(X):
        return lambda X, i, w: dense_row_dot(X, i, w)

    def impl(X, i, w):
        # unsigned positions: numba then skips the negative-index test of
        # every access (13% of a CSR pass on a9a, the same sums)
        acc = 0.0
        lo = np.uint64(X.indptr[i])
        for k in range(np.uint64(X.indptr[i + 1]) - lo):
            q = lo + k
            acc += X.data[q] * w[np.uint64(X.indices[q])]
        return acc

    return impl


@jit_reassoc
def dense_rows_dot(X, lo, hi, w, shift, out):
    """``out[i] = X[i] . w - shift`` for rows ``lo <= i < hi``.

    Row by row, with :func:`dense_row_dot`'s sums (the same bits as the
    fused passes' margins). A version that summed four rows at a time, to
    share the reads of ``w``, measured 10.6 against 12.2 ms on dense
    100000 x 400 on an earlier machine, but on this one (AVX-512) it does
    not vectorise: 3.73 against 0.92 ms on dense a9a, 21.8 against 11.8 ms
    on dense 100000 x 400, one thread (NumPy's ``X @ w`` 1.37 and 11.2 ms).
    """
    for i in range(lo, hi):
        out[i] = dense_row_dot(X, i, w) - shift


def rows_dot(X, lo, hi, w, shift, out):
    """``out[i] = x_i . w - shift`` for rows ``lo <= i < hi``."""
    if not isinstance(X, CSR):
        dense_rows_dot(X, lo, hi, w, shift, out)
        return
    for i in range(lo, hi):
        out[i] = row_dot(X, i, w) - shift


@overload(rows_dot, jit_options=JIT_OPTIONS, inline="never")
def _rows_dot(X, lo, hi, w, shift, out):
    if _is_dense(X):
        return lambda X, lo, hi, w, shift, out: dense_rows_dot(
            X, lo, hi, w, shift, out)

    def impl(X, lo, hi, w, shift, out):
        for i in range(lo, hi):
            out[i] = row_dot(X, i, w) - shift

    return impl


def row_axpy(X, i, a, out):
    """``out += a x_i``."""
    if not isinstance(X, CSR):
        for j in range(out.shape[0]):
            out[j] += X[i, j] * a
        return
    for k in range(X.indptr[i], X.indptr[i + 1]):
        out[X.indices[k]] += X.data[k] * a


@overload(row_axpy, jit_options=JIT_OPTIONS, inline="never")
def _row_axpy(X, i, a, out):
    if _is_dense(X):
        def impl(X, i, a, out):
            for j in range(out.shape[0]):
                out[j] += X[i, j] * a
        return impl

    def impl(X, i, a, out):
        lo = np.uint64(X.indptr[i])
        for k in range(np.uint64(X.indptr[i + 1]) - lo):
            q = lo + k
            out[np.uint64(X.indices[q])] += X.data[q] * a

    return impl


def row_axpy2(X, i, a, c, out_a, out_c):
    """``out_a += a x_i`` and ``out_c += c x_i``, reading the row once."""
    if not isinstance(X, CSR):
        for j in range(out_a.shape[0]):
            v = X[i, j]
            out_a[j] += v * a
            out_c[j] += v * c
        return
    for k in range(X.indptr[i], X.indptr[i + 1]):
        v = X.data[k]
        j = X.indices[k]
        out_a[j] += v * a
        out_c[j] += v * c


@overload(row_axpy2, jit_options=JIT_OPTIONS, inline="never")
def _row_axpy2(X, i, a, c, out_a, out_c):
    if _is_dense(X):
        def impl(X, i, a, c, out_a, out_c):
            for j in range(out_a.shape[0]):
                v = X[i, j]
                out_a[j] += v * a
                out_c[j] += v * c
        return impl

    def impl(X, i, a, c, out_a, out_c):
        lo = np.uint64(X.indptr[i])
        for k in range(np.uint64(X.indptr[i + 1]) - lo):
            q = lo + k
            v = X.data[q]
            j = np.uint64(X.indices[q])
            out_a[j] += v * a
            out_c[j] += v * c

    return impl
