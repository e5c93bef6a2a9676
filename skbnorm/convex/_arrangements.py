"""Activation patterns of a ReLU neuron: the cells of a hyperplane arrangement.

A neuron ``relu(A u)`` on the rows ``a_i`` of ``A`` (n x k) is linear on each
cell of the central arrangement of the hyperplanes ``{u : a_iᵀu = 0}``: there
``relu(A u) = D A u`` with the fixed pattern ``D = diag(1[A u >= 0])``. The
convex program of :mod:`skbnorm.convex` has one pair of variable groups per
pattern; it equals the non-convex network's training problem when every
pattern is present.

The number of cells is at most Zaslavsky/Cover's bound
``2 * sum_{i<k} C(n-1, i)`` (attained in general position); when that is
small the cells are enumerated exactly, otherwise patterns are sampled from
random directions ``u``.
"""

from math import comb

import numpy as np

__all__ = ["max_patterns", "enumerate_patterns", "sample_patterns"]


#: |bᵀp| below this (unit normals, unit points) counts as p on b's hyperplane
_ON = 1e-9


def max_patterns(n, k):
    """Upper bound on the number of cells of ``n`` central hyperplanes in R^k.

    ``2 * sum_{i=0}^{k-1} C(n-1, i)``, attained when the normals are in
    general position (Cover 1965; Zaslavsky 1975).
    """
    if n == 0 or k == 0:
        return 1
    return 2 * sum(comb(n - 1, i) for i in range(k))


def _cells(B):
    """One interior point per cell of the central arrangement with normals ``B``.

    ``B`` is ``m x k``; returns a ``c x k`` array of points ``p`` with
    ``B p != 0`` wherever the row of ``B`` is not zero. Deletion-restriction:
    the cells of ``B`` are the cells of ``B`` without its last hyperplane
    ``H`` that ``H`` does not cut, plus the two sides of each cell of the
    arrangement restricted to ``H`` (a ``k-1``-dimensional one).
    """
    m, k = B.shape
    norms = np.linalg.norm(B, axis=1)
    scale = norms.max() if m else 0.0
    # (nearly) zero normals: a restricted hyperplane parallel to the one it
    # was restricted to, i.e. the same hyperplane
    live = norms > _ON * max(scale, 1e-300)
    # only the hyperplanes matter, not the normals' lengths
    B = B[live] / norms[live][:, None]
    m = B.shape[0]
    if m == 0:
        e = np.zeros((1, k))
        e[0, 0] = 1.0
        return e
    if k == 1:
        return np.array([[1.0], [-1.0]])
    # add the hyperplanes one at a time (a loop, not a recursion on m: the
    # recursion below is on the dimension only)
    P = np.zeros((1, k))
    P[0, 0] = 1.0
    for j in range(m):
        h = B[j]
        rest = B[:j]
        side = P @ h
        # an interior point of an older cell on H (to rounding: when the
        # normals span less than R^k, points of their common null space are
        # on every later hyperplane): move it off H within its cell
        on = np.abs(side) <= _ON
        if np.any(on):
            P[on] += _safe_step(rest, P[on], h)[:, None] * h
        # the cells of H's restriction, pushed to both sides of H
        Q = np.linalg.svd(h[None, :])[2][1:].T  # k x (k-1), basis of H
        PH = _cells(rest @ Q) @ Q.T
        eps = _safe_step(rest, PH, h)
        pts = np.vstack([P, PH + eps[:, None] * h, PH - eps[:, None] * h])
        pts /= np.linalg.norm(pts, axis=1)[:, None]
        signs = (B[: j + 1] @ pts.T > 0).T
        _, keep = np.unique(np.packbits(signs, axis=1), axis=0,
                            return_index=True)
        P = pts[np.sort(keep)]
    return P


def _safe_step(B, P, h):
    """Per point, half the distance along ``h`` to the nearest other hyperplane.

    Hyperplanes through the point (``bᵀp = 0``: those parallel to ``h`` once
    restricted) are not crossed by any step along ``h`` that matters.
    """
    if B.shape[0] == 0:
        return np.ones(P.shape[0])
    val = np.abs(P @ B.T)  # (points, planes)
    rate = np.abs(B @ h)[None, :]
    with np.errstate(divide="ignore", invalid="ignore"):
        dist = np.where((val > _ON) & (rate > _ON), val / rate, np.inf)
    step = 0.5 * dist.min(axis=1)
    return np.where(np.isfinite(step), step, 1.0)


def enumerate_patterns(A):
    """Every activation pattern ``1[A u >= 0]`` over ``u`` in R^k, exactly.

    Parameters
    ----------
    A : ndarray of shape (n_samples, k)
        The neuron's input; rows are the hyperplanes' normals.

    Returns
    -------
    patterns : ndarray of shape (n_samples, n_patterns), dtype bool
        One column per (full-dimensional) cell of the arrangement. These
        suffice: the closed cells cover R^k, and on the closure of a cell
        ``relu(A u) = D A u`` with that cell's ``D`` (rows with ``a_iᵀu = 0``
        give 0 either way). The all-off pattern, whose neuron is
        identically zero, is dropped.
    """
    A = np.asarray(A, dtype=np.float64)
    pts = _cells(A)
    D = (A @ pts.T) >= 0.0
    D = D[:, D.any(axis=0)]
    return _unique_columns(D)


def sample_patterns(A, n_patterns, random_state):
    """Patterns ``1[A u >= 0]`` of ``n_patterns`` Gaussian directions ``u``.

    Duplicates and the all-off pattern are removed, so fewer may be returned.
    """
    A = np.asarray(A, dtype=np.float64)
    U = random_state.standard_normal((A.shape[1], n_patterns))
    D = (A @ U) >= 0.0
    D = D[:, D.any(axis=0)]
    return _unique_columns(D)


def _unique_columns(D):
    """Distinct columns of a boolean matrix, in order of first appearance."""
    if D.shape[1] == 0:
        return D
    _, keep = np.unique(np.packbits(D, axis=0), axis=1, return_index=True)
    return np.ascontiguousarray(D[:, np.sort(keep)])
