r"""The multinomial (softmax) loss over cached class margins.

For ``K`` classes with margins ``z_ik = x_ci^T w~_k + b_k`` the loss of a row
with label ``y_i`` is

.. math::

    l_i = \log \sum_k e^{z_{ik}} - z_{i y_i},\qquad
    \frac{\partial l_i}{\partial z_{ik}} = p_{ik} - [k = y_i],\qquad
    \frac{\partial^2 l_i}{\partial z_{ik}\,\partial z_{il}}
    = p_{ik}(\delta_{kl} - p_{il}),

``p_i`` the softmax of ``z_i``, computed shifted by ``max_k z_ik`` so that
nothing overflows. Like the binary margin passes these run over fixed row
blocks and add the block partials in order (thread-count independent).
"""

import math

import numpy as np

from .._numba import jit
from .._threads import ROW_WORK, block_sum, n_blocks, partials, run_blocks


@jit
def _softmax_row(z, p):
    """``p <- softmax(z)``; returns ``log sum exp(z)``."""
    top = z[0]
    for k in range(1, z.shape[0]):
        if z[k] > top:
            top = z[k]
    acc = 0.0
    for k in range(z.shape[0]):
        e = math.exp(z[k] - top)
        p[k] = e
        acc += e
    inv = 1.0 / acc
    for k in range(z.shape[0]):
        p[k] *= inv
    return top + math.log(acc)


@jit
def _softmax_pass(Z, b, y, s, P, part, nb, b0, b1):
    n, K = Z.shape
    z = np.empty(K)
    for blk in range(b0, b1):
        f = 0.0
        out = part[blk]
        for i in range(blk * n // nb, (blk + 1) * n // nb):
            for k in range(K):
                z[k] = Z[i, k] + b[k]
            lse = _softmax_row(z, P[i])
            si = s[i]
            f += si * (lse - z[y[i]])
            for k in range(K):
                out[1 + k] += si * P[i, k]
        out[0] = f


def softmax_pass(Z, b, y, s, P):
    """Loss of margins ``Z + b``; ``P <- softmax``. Returns ``(f, sum_i s_i p_i)``.

    ``Z`` is ``n x K``, ``y`` the integer labels in ``0 .. K-1``.
    """
    n, K = Z.shape
    nb = int(n_blocks(n, 1, n))
    part = partials(nb, 1 + K)
    run_blocks(_softmax_pass, (Z, b, y, s, P, part, nb), nb, ROW_WORK * n * K)
    sums = np.empty(1 + K)
    block_sum(part, sums)
    return sums[0], sums[1:]


def residuals(P, y, s):
    """``R = s (P - onehot(y))``: the loss's derivative in the margins."""
    R = P.copy()
    R[np.arange(y.shape[0]), y] -= 1.0
    R *= s[:, None]
    return R


def subspace_width(K, k):
    """Length of the gradient part of :func:`softmax_subspace_eval`'s output."""
    return K * (k + 1)


@jit
def _softmax_rows(T, c, b, y, s, P, cached, lo, hi, q0, Q, out, diag):
    """Rows ``lo:hi``: loss, gradient, the Hessian's per-class blocks, and ``Q``.

    ``Q[i - q0, a] = sqrt(s_i) p_i,class(a) u_a`` (``u`` the unknown's margin
    column, 1 for an intercept): the Hessian is the block-diagonal part
    ``sum_i s_i p_ik u_k u_k^T`` (``diag``, upper triangles) minus ``Q^T Q``,
    formed by BLAS.
    """
    K, k = c.shape
    kk = k + 1
    z = np.empty(K)
    u = np.empty(kk)
    f = 0.0
    for i in range(lo, hi):
        for q in range(K):
            acc = b[q]
            for j in range(k):
                acc += c[q, j] * T[i, q, j]
            z[q] = acc
        p = P[i]
        si = s[i]
        if not cached:
            lse = _softmax_row(z, p)
            f += si * (lse - z[y[i]])
        root = math.sqrt(si)
        yi = y[i]
        r = i - q0
        for q in range(K):
            for j in range(k):
                u[j] = T[i, q, j]
            u[k] = 1.0
            pq = p[q]
            rq = si * (pq - (1.0 if q == yi else 0.0))
            wq = si * pq
            rp = root * pq
            base = q * kk
            for a in range(kk):
                ua = u[a]
                out[base + a] += rq * ua
                Q[r, base + a] = rp * ua
                wa = wq * ua
                for bb in range(a, kk):
                    diag[q, a, bb] += wa * u[bb]
    return f


@jit
def _softmax_chunk(T, c, b, y, s, P, cached, lo, hi, Q, gpart, dpart, fpart,
                   nsub, b0, b1):
    rows = hi - lo
    for blk in range(b0, b1):
        a = lo + blk * rows // nsub
        z = lo + (blk + 1) * rows // nsub
        fpart[blk, 0] = _softmax_rows(T, c, b, y, s, P, cached, a, z, lo, Q,
                                      gpart[blk], dpart[blk])


#: rows per chunk of the rank-one part of the subspace Hessian (BLAS syrk),
#: and per block of a chunk (the blocks share the package's threads)
CHUNK_ROWS = 8192
SUB_ROWS = 1024


def softmax_subspace_eval(T, c, b, y, s, P, cached=False):
    """Loss, gradient and Hessian of the softmax loss on a per-class subspace.

    ``T[i, q, j]`` holds the margins of class ``q``'s direction ``j``
    (``n x K x k``); the margins are ``z_iq = sum_j c[q, j] T[i, q, j] + b_q``.
    The unknowns are ordered class by class, ``(c_q0 .. c_q(k-1), b_q)``.
    Returns ``(f, grad, H)`` with ``H`` the full ``m x m`` Hessian,
    ``m = K (k + 1)``; ``P`` receives the softmax at the point (with
    ``cached`` it is read instead, and ``f`` is 0).

    The Hessian ``sum_i s_i (diag(p_i) - p_i p_i^T) (x) u_i u_i^T`` is split
    into its per-class blocks (accumulated row by row) and the rank-one
    terms, a BLAS ``syrk`` over chunks of rows: 10x faster than accumulating
    the ``m (m + 1) / 2`` entries row by row at digits' 10 classes. The rows
    of a chunk are cut into blocks by its length alone, so that the sums do
    not depend on the number of threads.
    """
    from scipy.linalg.blas import dsyrk

    n, K, k = T.shape
    kk = k + 1
    m = K * kk
    grad = np.zeros(m)
    diag = np.zeros((K, kk, kk))
    C = np.zeros((m, m), order="F")
    f = 0.0
    Q = np.empty((min(CHUNK_ROWS, n), m))
    nsub_max = max(1, min(CHUNK_ROWS, n) // SUB_ROWS)
    gpart = np.empty((nsub_max, m))
    dpart = np.empty((nsub_max, K, kk, kk))
    fpart = np.empty((nsub_max, 1))
    for lo in range(0, n, CHUNK_ROWS):
        hi = min(lo + CHUNK_ROWS, n)
        nsub = max(1, (hi - lo) // SUB_ROWS)
        gpart[:nsub] = 0.0
        dpart[:nsub] = 0.0
        run_blocks(_softmax_chunk, (T, c, b, y, s, P, cached, lo, hi, Q, gpart,
                                    dpart, fpart, nsub), nsub,
                   ROW_WORK * (hi - lo) * K * kk)
        for blk in range(nsub):
            f += fpart[blk, 0]
            grad += gpart[blk]
            diag += dpart[blk]
        C = dsyrk(1.0, Q[:hi - lo].T, beta=1.0, c=C, trans=0, lower=0,
                  overwrite_c=1)
    # both products hold upper triangles only
    H = np.triu(C)
    H = -(H + np.triu(H, 1).T)
    diag = diag + np.triu(diag, 1).transpose(0, 2, 1)
    add_blocks(H, diag)
    return f, grad, H


def add_blocks(H, blocks):
    """``H += blockdiag(blocks)`` for ``blocks`` of shape ``(K, k, k)``."""
    K, k, _ = blocks.shape
    ar = np.arange(K)
    H.reshape(K, k, K, k)[ar, :, ar, :] += blocks


@jit
def _softmax_value(T, c, b, y, s, P, part, nb, b0, b1):
    n = T.shape[0]
    K, k = c.shape
    z = np.empty(K)
    for blk in range(b0, b1):
        f = 0.0
        for i in range(blk * n // nb, (blk + 1) * n // nb):
            for q in range(K):
                acc = b[q]
                for j in range(k):
                    acc += c[q, j] * T[i, q, j]
                z[q] = acc
            f += s[i] * (_softmax_row(z, P[i]) - z[y[i]])
        part[blk, 0] = f


def _row_blocks(n):
    return int(n_blocks(n, 1, n))


def softmax_subspace_value(T, c, b, y, s, P):
    """The loss alone at ``(c, b)`` on the subspace of
    :func:`softmax_subspace_eval`; ``P`` receives the softmax (a line
    search's trial points need no derivatives)."""
    n, K, k = T.shape
    nb = _row_blocks(n)
    part = partials(nb, 1)
    run_blocks(_softmax_value, (T, c, b, y, s, P, part, nb), nb,
               ROW_WORK * n * K)
    out = np.empty(1)
    block_sum(part, out)
    return float(out[0])


@jit
def _hessian_residuals(P, U, s, R, nb, b0, b1):
    n, K = P.shape
    for blk in range(b0, b1):
        for i in range(blk * n // nb, (blk + 1) * n // nb):
            acc = 0.0
            for k in range(K):
                acc += P[i, k] * U[i, k]
            for k in range(K):
                R[i, k] = s[i] * P[i, k] * (U[i, k] - acc)


def hessian_residuals(P, U, s):
    """``R_i = s_i (diag(p_i) - p_i p_i^T) u_i``: the loss's Hessian in the
    margins applied to the margins ``U`` of a direction."""
    n, K = P.shape
    R = np.empty_like(U)
    nb = _row_blocks(n)
    run_blocks(_hessian_residuals, (P, U, s, R, nb), nb, n * K)
    return R


@jit
def _class_grams(T, s, part, nb, b0, b1):
    n, K, k = T.shape
    for blk in range(b0, b1):
        out = part[blk]
        for i in range(blk * n // nb, (blk + 1) * n // nb):
            si = s[i]
            for q in range(K):
                for a in range(k):
                    wa = si * T[i, q, a]
                    for bb in range(a, k):
                        out[q, a, bb] += wa * T[i, q, bb]


def class_grams(T, s):
    """``G[q] = T[:, q, :]^T diag(s) T[:, q, :]``: each class's directions'
    S-Gram matrix, in one pass."""
    n, K, k = T.shape
    nb = _row_blocks(n)
    part = np.zeros((nb, K, k, k))
    run_blocks(_class_grams, (T, s, part, nb), nb, n * K * k)
    out = part[0].copy()
    for blk in range(1, nb):
        out += part[blk]
    return np.triu(out) + np.triu(out, 1).transpose(0, 2, 1)


@jit
def _combine(T, c, out, nb, b0, b1):
    n, K, k = T.shape
    for blk in range(b0, b1):
        for i in range(blk * n // nb, (blk + 1) * n // nb):
            for q in range(K):
                acc = 0.0
                for j in range(k):
                    acc += c[q, j] * T[i, q, j]
                out[i, q] = acc


def combine(T, c):
    """``Z[i, q] = sum_j c[q, j] T[i, q, j]``: the margins of a combination."""
    n, K, k = T.shape
    out = np.empty((n, K))
    nb = _row_blocks(n)
    run_blocks(_combine, (T, c, out, nb), nb, n * K * k)
    return out


@jit
def _stack_columns(A, B, C, scales, T, nb, b0, b1):
    n, K = A.shape
    for blk in range(b0, b1):
        for i in range(blk * n // nb, (blk + 1) * n // nb):
            for q in range(K):
                T[i, q, 0] = A[i, q] * scales[q, 0]
                T[i, q, 1] = B[i, q] * scales[q, 1]
                T[i, q, 2] = C[i, q] * scales[q, 2]


def stack_columns(A, B, C, scales):
    """``T[i, q] = (A[i, q] s_q0, B[i, q] s_q1, C[i, q] s_q2)``: three
    ``n x K`` margin arrays, scaled per class, interleaved row by row."""
    n, K = A.shape
    T = np.empty((n, K, 3))
    nb = _row_blocks(n)
    run_blocks(_stack_columns, (A, B, C, scales, T, nb), nb, 3 * n * K)
    return T
