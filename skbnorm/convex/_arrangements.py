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

import math
from math import comb

import numpy as np

from .._numba import jit
from ..objectives._rows import dense_row_dot

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


def cells_reference(B):
    """One interior point per cell of the central arrangement with normals ``B``
    (the NumPy twin of :func:`_cells`, for tests).

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
            P[on] += _safe_step_np(rest, P[on], h)[:, None] * h
        # the cells of H's restriction, pushed to both sides of H
        Q = np.linalg.svd(h[None, :])[2][1:].T  # k x (k-1), basis of H
        PH = cells_reference(rest @ Q) @ Q.T
        eps = _safe_step_np(rest, PH, h)
        pts = np.vstack([P, PH + eps[:, None] * h, PH - eps[:, None] * h])
        pts /= np.linalg.norm(pts, axis=1)[:, None]
        signs = (B[: j + 1] @ pts.T > 0).T
        _, keep = np.unique(np.packbits(signs, axis=1), axis=0,
                            return_index=True)
        P = pts[np.sort(keep)]
    return P


def _safe_step_np(B, P, h):
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


# -- the compiled enumeration --------------------------------------------------
#
# The same deletion-restriction as cells_reference, with two changes that make
# it 25-38x faster (measured: bench_convex.py --enumeration; every cell of
# the twin is found, see the tests): a cell is identified by a 64-bit
# Zobrist key of its sign vector, found in a hash table, instead of a sort of
# every point's signs at every step; and a cell cut by the new hyperplane is
# recognised from its restriction's lifted points, which are the only points
# whose signs are computed in full. Every match of keys is confirmed on the
# signs themselves, so a collision of keys costs a probe, never a cell.


@jit
def _safe_steps(B, m, P, h):
    """Per row of ``P``: half the distance along ``h`` to the nearest of the
    first ``m`` hyperplanes of ``B`` that the point is not on (1.0 if none)."""
    c, k = P.shape
    out = np.empty(c)
    rate = np.empty(m)
    for i in range(m):
        rate[i] = abs(dense_row_dot(B, i, h))
    for p in range(c):
        best = np.inf
        for i in range(m):
            if rate[i] > _ON:
                v = abs(dense_row_dot(B, i, P[p]))
                if v > _ON and v < best * rate[i]:
                    best = v / rate[i]
        out[p] = 0.5 * best if best < np.inf else 1.0
    return out


@jit
def _hyperplane_basis(h):
    """``k x (k-1)``: an orthonormal basis of ``{u : h^T u = 0}`` (unit ``h``),
    the Householder reflection's columns other than the one it maps to ``h``."""
    k = h.shape[0]
    v = h.copy()
    v[0] += 1.0 if h[0] >= 0.0 else -1.0
    vv = 0.0
    for q in range(k):
        vv += v[q] * v[q]
    Q = np.empty((k, k - 1))
    for col in range(1, k):
        for q in range(k):
            Q[q, col - 1] = (1.0 if q == col else 0.0) - 2.0 * v[q] * v[col] / vv
    return Q


@jit
def _restrict(B, m, Q):
    """``B[:m] @ Q``: the first ``m`` hyperplanes in coordinates of ``Q``."""
    k, r = Q.shape
    out = np.zeros((m, r))
    for i in range(m):
        for q in range(k):
            b = B[i, q]
            for c in range(r):
                out[i, c] += b * Q[q, c]
    return out


@jit
def _lift(C, Q):
    """``C @ Q.T``: points of the hyperplane back in ``R^k``."""
    c, r = C.shape
    k = Q.shape[0]
    out = np.zeros((c, k))
    for a in range(c):
        for q in range(k):
            acc = 0.0
            for s in range(r):
                acc += C[a, s] * Q[q, s]
            out[a, q] = acc
    return out


@jit
def _mix(x):
    """MurmurHash3's ``fmix64`` finaliser: a bijection of 64-bit words that
    scatters their bits."""
    x ^= x >> np.uint64(33)
    x *= np.uint64(0xFF51AFD7ED558CCD)
    x ^= x >> np.uint64(33)
    x *= np.uint64(0xC4CEB9FE1A85EC53)
    x ^= x >> np.uint64(33)
    return x


@jit
def _table_size(c):
    """A power of two at least ``2 c``: an open-addressing table half full."""
    size = 1
    while size < 2 * c:
        size *= 2
    return size


@jit
def _same_signs(B, j, p, o):
    """Whether ``p`` and ``o`` are on the same side of hyperplanes ``0 .. j-1``."""
    for i in range(j):
        if (dense_row_dot(B, i, p) > 0.0) != (dense_row_dot(B, i, o) > 0.0):
            return False
    return True


@jit
def _normalised_rows(B0):
    """The rows of ``B0`` scaled to unit length, (nearly) zero rows dropped."""
    m0, k = B0.shape
    norms = np.empty(m0)
    scale = 0.0
    for i in range(m0):
        norms[i] = math.sqrt(dense_row_dot(B0, i, B0[i]))
        scale = max(scale, norms[i])
    # a restricted hyperplane parallel to the one it was restricted to is
    # that hyperplane: its normal vanishes up to rounding
    thr = _ON * max(scale, 1e-300)
    m = 0
    for i in range(m0):
        if norms[i] > thr:
            m += 1
    B = np.empty((m, k))
    r = 0
    for i in range(m0):
        if norms[i] > thr:
            for q in range(k):
                B[r, q] = B0[i, q] / norms[i]
            r += 1
    return B


@jit
def _resized(P, c, cap):
    """The first ``c`` rows of ``P`` in a new ``cap``-row array (element by
    element: a slice assignment compiles numba's shape-error formatting, 3 s)."""
    k = P.shape[1]
    out = np.empty((cap, k))
    for a in range(c):
        for q in range(k):
            out[a, q] = P[a, q]
    return out


@jit
def _resized_keys(keys, c, cap):
    out = np.empty(cap, dtype=np.uint64)
    for a in range(c):
        out[a] = keys[a]
    return out


@jit
def _cells(B0):
    """One interior point per cell of the central arrangement with normals
    ``B0`` (``m x k``): compiled :func:`cells_reference`."""
    B = _normalised_rows(B0)
    m, k = B.shape
    if m == 0:
        e = np.zeros((1, k))
        e[0, 0] = 1.0
        return e
    if k == 1:
        e = np.empty((2, 1))
        e[0, 0] = 1.0
        e[1, 0] = -1.0
        return e
    # a cell's key is the XOR of the words of the hyperplanes it is on the
    # positive side of
    words = _zobrist_words(m)
    P = np.zeros((64, k))
    keys = np.zeros(64, dtype=np.uint64)
    P[0, 0] = 1.0
    c = 1
    pt = np.empty(k)
    for j in range(m):
        h = B[j].copy()
        # an older cell's point on H (to rounding: when the normals span less
        # than R^k, points of their common null space are on every later
        # hyperplane): move it off H within its cell
        n_on = 0
        for p in range(c):
            if abs(dense_row_dot(B, j, P[p])) <= _ON:
                n_on += 1
        if n_on > 0:
            idx = np.empty(n_on, dtype=np.int64)
            on = np.empty((n_on, k))
            a = 0
            for p in range(c):
                if abs(dense_row_dot(B, j, P[p])) <= _ON:
                    idx[a] = p
                    for q in range(k):
                        on[a, q] = P[p, q]
                    a += 1
            step = _safe_steps(B, j, on, h)
            for a in range(n_on):
                norm = 0.0
                for q in range(k):
                    P[idx[a], q] += step[a] * h[q]
                    norm += P[idx[a], q] * P[idx[a], q]
                # unit points, as _ON is an absolute distance
                inv = 1.0 / math.sqrt(norm)
                for q in range(k):
                    P[idx[a], q] *= inv
        # the cells of H's restriction, lifted to H
        Q = _hyperplane_basis(h)
        PH = _lift(_cells(_restrict(B, j, Q)), Q)
        eps = _safe_steps(B, j, PH, h)
        # the older cells by their key (signs on hyperplanes 0 .. j-1)
        table = np.full(_table_size(c), -1, dtype=np.int64)
        mask = np.uint64(table.shape[0] - 1)
        for p in range(c):
            slot = _mix(keys[p]) & mask
            while table[slot] >= 0:
                slot = (slot + np.uint64(1)) & mask
            table[slot] = p
        up_old = np.empty(c, dtype=np.bool_)
        for p in range(c):
            up_old[p] = dense_row_dot(B, j, P[p]) > 0.0
        split = np.zeros(c, dtype=np.bool_)
        # each cell of the restriction is a cell H cuts in two: pushed to both
        # sides of H, one point is in the older cell's half, the other is the
        # new cell (both old when H repeats an older hyperplane)
        nh = PH.shape[0]
        new = np.empty((2 * nh, k))
        new_keys = np.empty(2 * nh, dtype=np.uint64)
        n_new = 0
        for a in range(2 * nh):
            sgn = 1.0 if a < nh else -1.0
            b = a if a < nh else a - nh
            norm = 0.0
            for q in range(k):
                pt[q] = PH[b, q] + sgn * eps[b] * h[q]
                norm += pt[q] * pt[q]
            inv = 1.0 / math.sqrt(norm)
            for q in range(k):
                pt[q] *= inv
            key = np.uint64(0)
            for i in range(j):
                if dense_row_dot(B, i, pt) > 0.0:
                    key ^= words[i]
            slot = _mix(key) & mask
            found = -1
            while table[slot] >= 0:
                o = table[slot]
                if keys[o] == key and _same_signs(B, j, pt, P[o]):
                    found = o
                    break
                slot = (slot + np.uint64(1)) & mask
            up = dense_row_dot(B, j, pt) > 0.0
            if found >= 0:
                if split[found] or up_old[found] == up:
                    continue
                split[found] = True
            for q in range(k):
                new[n_new, q] = pt[q]
            new_keys[n_new] = key ^ words[j] if up else key
            n_new += 1
        for p in range(c):
            if up_old[p]:
                keys[p] ^= words[j]
        if c + n_new > P.shape[0]:
            cap = P.shape[0]
            while cap < c + n_new:
                cap *= 2
            P = _resized(P, c, cap)
            keys = _resized_keys(keys, c, cap)
        for a in range(n_new):
            for q in range(k):
                P[c + a, q] = new[a, q]
            keys[c + a] = new_keys[a]
        c += n_new
    return _resized(P, c, c)


@jit
def _zobrist_words(m):
    """A pseudo-random 64-bit word per hyperplane (the splitmix64 sequence)."""
    words = np.empty(m, dtype=np.uint64)
    x = np.uint64(0)
    for i in range(m):
        x += np.uint64(0x9E3779B97F4A7C15)
        words[i] = _mix(x)
    return words


@jit
def _patterns(A, P):
    """``1[A p >= 0]`` per point ``p`` (a column each), each distinct pattern
    once (in order of first appearance), the all-off pattern dropped."""
    n = A.shape[0]
    c = P.shape[0]
    words = _zobrist_words(n)
    D = np.empty((n, c), dtype=np.bool_)
    keys = np.empty(c, dtype=np.uint64)
    table = np.full(_table_size(c), -1, dtype=np.int64)
    mask = np.uint64(table.shape[0] - 1)
    col = np.empty(n, dtype=np.bool_)
    kept = 0
    for a in range(c):
        key = np.uint64(0)
        any_on = False
        for i in range(n):
            on = dense_row_dot(A, i, P[a]) >= 0.0
            col[i] = on
            if on:
                key ^= words[i]
                any_on = True
        if not any_on:
            continue
        slot = _mix(key) & mask
        dup = False
        while table[slot] >= 0:
            o = table[slot]
            if keys[o] == key:
                dup = True
                for i in range(n):
                    if D[i, o] != col[i]:
                        dup = False
                        break
                if dup:
                    break
            slot = (slot + np.uint64(1)) & mask
        if dup:
            continue
        table[slot] = kept
        keys[kept] = key
        for i in range(n):
            D[i, kept] = col[i]
        kept += 1
    if kept == c:
        return D
    out = np.empty((n, kept), dtype=np.bool_)
    for i in range(n):
        for a in range(kept):
            out[i, a] = D[i, a]
    return out


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
    A = np.ascontiguousarray(A, dtype=np.float64)
    # hyperplanes about 1e-9 apart in angle (near-duplicate samples) are
    # told apart at one level of the recursion and merged at the next, which
    # can give one cell two points: the patterns are made distinct by a hash
    # pass (O(n) a cell) rather than a sort of 10^6 columns
    return _patterns(A, _cells(A))


def sample_patterns(A, n_patterns, random_state):
    """Patterns ``1[A u >= 0]`` of ``n_patterns`` Gaussian directions ``u``.

    Duplicates and the all-off pattern are removed, so fewer may be returned.
    """
    A = np.ascontiguousarray(A, dtype=np.float64)
    U = random_state.standard_normal((A.shape[1], n_patterns))
    # the enumeration's pattern pass: distinct, in order of first appearance
    return _patterns(A, np.ascontiguousarray(U.T))
