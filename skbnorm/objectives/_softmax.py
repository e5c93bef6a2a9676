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
    """Length of :func:`softmax_subspace_eval`'s output (``k`` directions per class)."""
    m = K * (k + 1)
    return 1 + m + m * (m + 1) // 2


@jit
def _softmax_subspace_eval(T, c, b, y, s, P, cached, part, nb, b0, b1):
    n, K, k = T.shape
    kk = k + 1
    m = K * kk
    z = np.empty(K)
    u = np.empty(m)
    cls = np.empty(m, dtype=np.int64)
    for a in range(m):
        cls[a] = a // kk
    for blk in range(b0, b1):
        out = part[blk]
        for i in range(blk * n // nb, (blk + 1) * n // nb):
            for q in range(K):
                acc = 0.0
                for j in range(k):
                    v = T[i, q, j]
                    u[q * kk + j] = v
                    acc += c[q, j] * v
                u[q * kk + k] = 1.0
                z[q] = acc + b[q]
            p = P[i]
            si = s[i]
            if not cached:
                lse = _softmax_row(z, p)
                out[0] += si * (lse - z[y[i]])
            yi = y[i]
            for a in range(m):
                qa = cls[a]
                ra = p[qa] - (1.0 if qa == yi else 0.0)
                out[1 + a] += si * ra * u[a]
            pos = 1 + m
            for a in range(m):
                qa = cls[a]
                wa = si * u[a]
                pa = p[qa]
                for bb in range(a, m):
                    qb = cls[bb]
                    h = pa * ((1.0 if qa == qb else 0.0) - p[qb])
                    out[pos] += wa * h * u[bb]
                    pos += 1


def softmax_subspace_eval(T, c, b, y, s, P, cached=False):
    """Loss, gradient and Hessian of the softmax loss on a per-class subspace.

    ``T[i, q, j]`` holds the margins of class ``q``'s direction ``j``
    (``n x K x k``); the margins are ``z_iq = sum_j c[q, j] T[i, q, j] + b_q``.
    The unknowns are ordered class by class, ``(c_q0 .. c_q(k-1), b_q)``.
    Returns ``[f, grad (m), upper triangle of the Hessian (row by row)]``,
    ``m = K (k + 1)``; ``P`` receives the softmax at the point (with
    ``cached`` it is read instead, and ``f`` is 0).
    """
    n, K, k = T.shape
    nb = int(n_blocks(n, 1, n))
    part = partials(nb, subspace_width(K, k))
    m = K * (k + 1)
    work = n * m * m // 2 + (0 if cached else ROW_WORK * n * K)
    run_blocks(_softmax_subspace_eval, (T, c, b, y, s, P, cached, part, nb), nb,
               work)
    out = np.empty(part.shape[1])
    block_sum(part, out)
    return out
