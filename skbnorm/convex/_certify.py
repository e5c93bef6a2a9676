r"""A certificate over every activation pattern, from a solve over a few.

The convex program over a set of patterns (:mod:`._solver`) has the dual

.. math::

    \max_{\theta,\ \mu_D \ge 0}\ -\tfrac12\lVert\theta\rVert^2 - \theta^\top y
    \quad\text{s.t.}\quad v_\sigma(D) = \min_{\mu \ge 0}
    \big\lVert A^\top(\sigma D\theta - S_D\,\mu)\big\rVert \le \lambda

for each pattern ``D`` of the set and ``sigma = +-1`` (``S_D = 2D - I``).
The constraint of one pattern involves only its own ``mu``, so a point
``theta`` (the scaled residual ``t e`` of the current solution) is feasible
for the program over *every* cell of the arrangement when ``max_D v(D) <=
lambda``; the dual value at ``t = min(1, lambda / max_D v(D))`` then bounds
every network of any width from below (Pilanci and Ergen 2020). ``v(D)`` is
a non-negative least-squares problem in ``n`` unknowns; dropping the cone
(``mu = 0``) bounds it by ``||A^T D e||``, one product for all cells, so
the exact problem is solved only for the cells whose bound exceeds
``lambda``.

Working set: solve over a few patterns, evaluate ``v`` over every cell
(when the arrangement was enumerated) or over patterns found by a search,
add the most violated ones, re-solve from the previous ADMM state, and stop
when no cell is violated: the gap is then a certificate over all networks.
"""

import math

import numpy as np

from .._numba import jit
from ..objectives._design import dot
from ._solver import (
    _residual,
    admm_group_lasso,
    extend_state,
    scaled_dual,
    select_state,
)

__all__ = ["UncertifiedWarning", "cell_values", "search_patterns",
           "working_set_solve"]


class UncertifiedWarning(UserWarning):
    """A convex fit whose optimum is not certified over every pattern."""

#: a pattern whose dual-constraint value exceeds lam by more than this
#: (relative) is violated and joins the working set
VIOLATION = 1e-6
#: the working-set rounds before the last solve to this times ``tol``
LOOSE = 10.0
#: working-set rounds at most, with every cell checked / with a search
MAX_ROUNDS = 30
SEARCH_ROUNDS = 3
#: the search starts from the largest units, data directions (both signs)
#: and random ones, this many of each, and adds this many patterns a round
SEARCH_STARTS = 32
SEARCH_ADD = 32


def residual(A, Dm, Z, y):
    """``e = sum_j sigma_j D_j A z_j - y`` of the program over ``Dm``."""
    return _residual(np.ascontiguousarray(A @ Z),
                     np.ascontiguousarray(Dm, dtype=np.bool_), y)


@jit
def _passive_lstsq(M, b, passive, z):
    """Least squares on the passive columns into ``z`` (zero elsewhere).

    Modified Gram--Schmidt, twice, on the at most ``k`` passive columns; a
    column dependent on the earlier ones (to rounding) gets 0. Plain loops
    (no BLAS call): the problems are tiny, and compiling numba's BLAS
    bindings tripled this module's compile time.
    """
    k, n = M.shape
    Q = np.empty((k, k))  # row j: the j-th orthonormal vector
    R = np.zeros((k, k))
    cols = np.empty(k, dtype=np.int64)
    v = np.empty(k)
    p = 0
    for c in range(n):
        z[c] = 0.0
        if not passive[c] or p == k:
            continue
        for q in range(k):
            v[q] = M[q, c]
        size = math.sqrt(dot(v, v))
        for _ in range(2):
            for j in range(p):
                r = dot(Q[j], v)
                R[j, p] += r
                for q in range(k):
                    v[q] -= r * Q[j, q]
        nv = math.sqrt(dot(v, v))
        if not nv > 1e-12 * size:
            for j in range(p):
                R[j, p] = 0.0
            continue
        for q in range(k):
            Q[p, q] = v[q] / nv
        R[p, p] = nv
        cols[p] = c
        p += 1
    sol = np.empty(p)
    for j in range(p - 1, -1, -1):
        acc = dot(Q[j], b)
        for q in range(j + 1, p):
            acc -= R[j, q] * sol[q]
        sol[j] = acc / R[j, j]
    for j in range(p):
        z[cols[j]] = sol[j]


@jit
def _residual_of(M, x, b, r):
    """``r <- b - M x``."""
    k, n = M.shape
    for q in range(k):
        acc = b[q]
        for i in range(n):
            acc -= M[q, i] * x[i]
        r[q] = acc


@jit
def nnls_residual(M, b, stop=0.0):
    """``min_{x >= 0} ||M x - b||`` by Lawson and Hanson's active-set method.

    ``M`` is ``k x n`` with ``k`` small (the passive set then has at most
    ``k`` columns). Returns the residual norm, or the first residual at most
    ``stop`` met on the way (each outer step decreases it).
    """
    k, n = M.shape
    x = np.zeros(n)
    z = np.zeros(n)
    r = np.empty(k)
    passive = np.zeros(n, dtype=np.bool_)
    scale = 0.0
    for j in range(n):
        c = 0.0
        for q in range(k):
            c += abs(M[q, j])
        scale = max(scale, c)
    tol = 10.0 * max(k, n) * 2.220446049250313e-16 * scale
    _residual_of(M, x, b, r)
    for _ in range(3 * n + 10):
        if dot(r, r) <= stop * stop:
            break
        j = -1
        best = tol
        for i in range(n):
            if passive[i]:
                continue
            w = 0.0
            for q in range(k):
                w += M[q, i] * r[q]
            if w > best:
                best = w
                j = i
        if j < 0:
            break
        passive[j] = True
        for _ in range(3 * n + 10):
            _passive_lstsq(M, b, passive, z)
            ok = True
            for i in range(n):
                if passive[i] and z[i] <= tol:
                    ok = False
            if ok:
                for i in range(n):
                    x[i] = z[i]
                break
            # back along x -> z to the first passive entry that reaches 0
            step = 1.0
            for i in range(n):
                if passive[i] and z[i] <= tol:
                    drop = x[i] - z[i]
                    step = min(step, x[i] / drop) if drop > 0.0 else 0.0
            for i in range(n):
                x[i] += step * (z[i] - x[i])
                if passive[i] and x[i] <= tol:
                    passive[i] = False
                    x[i] = 0.0
        _residual_of(M, x, b, r)
    return math.sqrt(dot(r, r))


@jit
def _exact_values(A, Dm, e, hard, values, lam):
    n, k = A.shape
    M = np.empty((k, n))
    g = np.empty(k)
    neg = np.empty(k)  # -g: a loop, not an array expression (compile time)
    u = np.empty(k)
    for j in hard:
        for q in range(k):
            acc = 0.0
            for i in range(n):
                if Dm[i, j]:
                    M[q, i] = A[i, q]
                    acc += A[i, q] * e[i]
                else:
                    M[q, i] = -A[i, q]
            g[q] = acc
        # where the cone-free maximiser sigma g/||g|| is in the cell, the
        # bound ||g|| is attained: no least squares
        gn = math.sqrt(dot(g, g))
        for q in range(k):
            u[q] = g[q] / gn
        inside = 0
        for i in range(n):
            z = 0.0
            for q in range(k):
                z += M[q, i] * u[q]
            if z < 0.0:
                inside |= 1  # S A u >= 0 fails for sigma = +1
            if z > 0.0:
                inside |= 2  # and for sigma = -1
        if inside != 3:
            values[j] = gn
            continue
        # sigma = +1: min ||g - M mu||; sigma = -1: min ||-g - M mu||; a
        # value at most lam is all the certificate needs
        for q in range(k):
            neg[q] = -g[q]
        values[j] = max(nnls_residual(M, g, lam), nnls_residual(M, neg, lam))


def cell_values(A, Dm, e, lam):
    """Per pattern ``D`` (column of ``Dm``), ``max_sigma v_sigma(D)`` at ``e``.

    Exact where above ``lam``; elsewhere some value at most ``lam`` (the
    cone-free bound ``||A^T D e||``, or a least-squares residual met on the
    way), which is all the certificate needs. Returns ``(values, n_hard)``,
    ``n_hard`` the number of cells the bound did not clear.
    """
    return CellValues(A, Dm).check(e, lam)


#: columns of patterns per product of :func:`cone_free_bound` (a float copy
#: of this many columns is the only temporary: 20 MB at n = 40)
BOUND_CHUNK = 1 << 16


def cone_free_bound(A, Dm, e):
    """``||A^T D e||`` per pattern: ``v(D)`` with the cone dropped."""
    Ae = A.T * e[None, :]
    out = np.empty(Dm.shape[1])
    for lo in range(0, Dm.shape[1], BOUND_CHUNK):
        hi = min(lo + BOUND_CHUNK, Dm.shape[1])
        G = Ae @ Dm[:, lo:hi].astype(np.float64)
        out[lo:hi] = np.sqrt(np.einsum("ij,ij->j", G, G))
    return out


def exact_values(A, Dm, e, idx, values, lam):
    """``values[idx] <- v(D)`` for the patterns ``idx`` (see
    :func:`cell_values`)."""
    if idx.size:
        _exact_values(np.ascontiguousarray(A, dtype=np.float64),
                      np.ascontiguousarray(Dm, dtype=np.bool_),
                      np.ascontiguousarray(e, dtype=np.float64), idx, values,
                      float(lam))


class CellValues:
    """The dual-constraint values of every cell, round after round.

    ``v(D)`` at the residual ``e`` is a minimum over ``mu`` of
    ``||A^T(sigma D e - S mu)||`` (a distance to a convex cone), so it moves
    by at most ``||A|| ||e - e'||`` (``A`` has orthonormal columns: 1 up to
    rounding) when the residual moves to ``e'``. A cell whose value, or an
    upper bound of it, was ``v'`` at ``e'`` therefore has ``v(D) <= v' +
    ||A|| ||e - e'||`` now: where that is at most ``lam`` the cell is still
    satisfied and its least-squares problem is not solved again. (Measured
    on a 184342-cell problem, where the exact values took 10.5 s of a 20 s
    fit: late rounds cleared up to a fifth of the cells that way; most cells
    sit just below ``lam``, and the residual still moves by 1-10% of
    ``lam`` a round.)

    :meth:`check` returns an *upper bound* on each value, exact where above
    ``lam``, which is all the certificate needs.
    """

    def __init__(self, A, cells):
        self.A = A
        self.cells = cells
        # v is ||A||-Lipschitz; A's columns are orthonormal only to rounding
        # (measured: ||A|| - 1 up to 1.6e-10 for whitened data far from 0)
        self.lipschitz = max(1.0, float(np.linalg.norm(A, 2))) if A.size else 1.0
        self.ref_value = np.full(cells.shape[1], np.inf)
        self.ref_round = np.zeros(cells.shape[1], dtype=np.intp)
        self.residuals = []

    def check(self, e, lam):
        """``(values, n_exact)`` at the residual ``e``."""
        values = cone_free_bound(self.A, self.cells, e)
        hard = np.flatnonzero(values > lam)
        if self.residuals:
            drift = np.array([math.sqrt(float(np.sum((e - r) ** 2)))
                              for r in self.residuals])
            moved = (self.ref_value[hard]
                     + self.lipschitz * drift[self.ref_round[hard]])
            cleared = moved <= lam
            values[hard[cleared]] = moved[cleared]
            hard = hard[~cleared]
        exact_values(self.A, self.cells, e, hard, values, lam)
        self.ref_value[hard] = values[hard]
        self.ref_round[hard] = len(self.residuals)
        self.residuals.append(e.copy())
        return values, hard.size


def search_patterns(A, e, starts, n_steps=8):
    """Patterns reached by ascent on ``u -> +-e^T relu(A u)`` over the unit ball.

    From each start (columns of ``starts``) and each sign, ``u`` moves
    ``n_steps`` times to the maximiser over the ball of the objective's
    linear piece at ``u`` (``u <- sigma A^T D(u) e``, normalised). Returns
    the distinct patterns ``D(u)`` where the ascents end and, per pattern,
    the largest ``sigma e^T relu(A u)`` reached in it: a lower bound on its
    dual-constraint value ``v(D)`` (``u`` is a unit vector of the cell), so
    a bound above ``lam`` proves the pattern violated without solving
    anything. A heuristic for arrangements too large to enumerate: it finds
    violated cells, it cannot prove there are none.
    """
    found = []
    lows = []
    for sigma in (1.0, -1.0):
        U = starts.copy()
        for _ in range(n_steps):
            D = (A @ U) >= 0.0
            G = sigma * (A.T @ (D * e[:, None]))
            norms = np.linalg.norm(G, axis=0)
            live = norms > 0.0
            if not np.any(live):
                break
            U = G[:, live] / norms[live]
        H = A @ U
        found.append(H >= 0.0)
        lows.append(sigma * (e @ np.maximum(H, 0.0)))
    D = np.concatenate(found, axis=1)
    low = np.concatenate(lows)
    live = D.any(axis=0)
    D, low = D[:, live], low[live]
    order = np.argsort(-low, kind="stable")
    D, low = D[:, order], low[order]
    # the first occurrence of a pattern carries its largest bound
    _, keep = np.unique(np.packbits(D, axis=0), axis=1, return_index=True)
    keep = np.sort(keep)
    return np.ascontiguousarray(D[:, keep]), low[keep]


def _new_columns(W, C):
    """Columns of ``C`` that are not columns of ``W``."""
    have = {bytes(c) for c in np.packbits(W, axis=0).T}
    packed = np.packbits(C, axis=0).T
    return np.array([bytes(c) not in have for c in packed], dtype=bool)


def working_set_solve(A, y, lam, patterns, cells=None, tol=1e-3,
                      max_iter=10000, max_rounds=None, add=None,
                      random_state=None, verbose=0, callback=None,
                      round_tasks=None):
    """Solve over a working set of patterns until no cell is violated.

    Parameters
    ----------
    A : ndarray of shape (n, k), orthonormal columns
    y : ndarray of shape (n,)
    lam : float
    patterns : ndarray of shape (n, P0), dtype bool
        The first working set.
    cells : ndarray of shape (n, C), dtype bool, optional
        Every cell of the arrangement. Then each round checks them all, and
        a solve that ends with none violated is certified over every
        network of any width. Without it candidates come from
        :func:`search_patterns` (from the current units, the data's
        directions and random ones) and nothing is certified beyond the
        working set.
    tol : float
        ADMM's relative gap on the working set, and the certificate's.
    max_iter : int
        ADMM iterations at most per round.
    max_rounds : int, optional
        Working-set rounds at most: default :data:`MAX_ROUNDS` with
        ``cells``, :data:`SEARCH_ROUNDS` without (a search proves nothing,
        so it is only given a few rounds to improve the network).
    add : int, optional
        Violated patterns added per round at most, the most violated first
        (default: the first set's size, at least 16, with ``cells``;
        :data:`SEARCH_ADD` without).

    Returns
    -------
    Z, patterns, info : ndarray, ndarray, dict
        The groups over the final working set, that set, and ADMM's last
        ``info`` with ``rounds``, ``certified`` (bool), ``all_dual`` (the
        bound over every cell, NaN without ``cells``), ``max_value``
        (``max_D v(D) / lam`` over the checked patterns; without ``cells``
        the largest lower bound the search found) and ``n_checked``.

    Other parameters
    ----------------
    callback : callable, optional
        ADMM's ``callback(V, info)`` at every certificate check of every
        round (returning True stops the fit).
    round_tasks : object, optional
        Progress by round, in place of ``callback``: ``round_tasks.begin(r)``
        returns the check callback of round ``r``, and ``round_tasks.end(Z,
        info)`` is called once the round's cells are checked (returning True
        stops the fit).
    """
    rng = np.random.default_rng(0) if random_state is None else random_state
    W = np.ascontiguousarray(patterns, dtype=bool)
    n, k = A.shape
    if add is None:
        add = max(16, W.shape[1]) if cells is not None else SEARCH_ADD
    if max_rounds is None:
        max_rounds = MAX_ROUNDS if cells is not None else SEARCH_ROUNDS
    state = None
    used = 0
    info = {}
    checker = CellValues(A, cells) if cells is not None else None
    # the rounds that only look for violated patterns solve to a looser gap;
    # once none is left, the last solve tightens it to tol (measured on small
    # problems: ADMM's sublinear tail over growing working sets was most of
    # the time)
    loose = LOOSE * tol
    rounds = 0
    while True:
        rounds += 1
        on_check = (round_tasks.begin(rounds) if round_tasks is not None
                    else callback)
        Z, info = admm_group_lasso(A, W, y, lam, tol=loose, max_iter=max_iter,
                                   verbose=verbose, callback=on_check,
                                   start=state)
        used += info["n_iter"]
        state = info["state"]
        if info.get("stopped"):
            # a callback ended the fit: nothing is certified, and a check of
            # every cell (seconds over 10^6 of them) would serve no one
            info.update(rounds=rounds, n_iter=used, certified=False,
                        all_dual=math.nan, max_value=math.nan, n_checked=0)
            if round_tasks is not None:
                round_tasks.end(Z, info)
            break
        e = residual(A, W, Z, y)
        if cells is not None:
            cand = cells
            values, n_hard = checker.check(e, lam)
        else:
            norms = np.linalg.norm(Z, axis=0)
            units = Z[:, np.argsort(-norms)[:SEARCH_STARTS]]
            units = units[:, np.linalg.norm(units, axis=0) > 0.0]
            rows = A[rng.choice(n, min(n, SEARCH_STARTS), replace=False)].T
            starts = np.concatenate(
                [units, rows, -rows, rng.standard_normal((k, SEARCH_STARTS))],
                axis=1)
            norms = np.linalg.norm(starts, axis=0)
            starts = starts[:, norms > 0.0] / norms[norms > 0.0]
            cand, values = search_patterns(A, e, starts)
            # the ascent's lower bounds miss violated cells whose maximiser
            # it did not reach: solve the conic problem for the most
            # promising of those (largest cone-free bound), a few per round
            # (measured: bounds alone left the fits 1.09-1.17x the
            # multi-start's best, the exact values 1.03-1.10x)
            bound = cone_free_bound(A, cand, e)
            open_ = np.flatnonzero((values <= lam * (1.0 + VIOLATION))
                                   & (bound > lam))
            hard = open_[np.argsort(-bound[open_])[:2 * add]]
            n_hard = hard.size
            exact = values.copy()
            exact_values(A, cand, e, hard, exact, lam)
            values[hard] = np.maximum(values[hard], exact[hard])
        cmax = float(values.max()) if values.size else 0.0
        obj = info["objective"]
        converged = info["converged"]  # to this round's tolerance
        info["n_checked"] = cand.shape[1]
        info["max_value"] = cmax / lam
        info["rounds"] = rounds
        info["n_iter"] = used
        info["all_dual"] = (scaled_dual(e, y, cmax, lam) if cells is not None
                            else math.nan)
        # the bound holds at any iterate: a small enough gap certifies
        # (and ends the fit) whether or not ADMM met its own test
        info["certified"] = bool(
            cells is not None and obj - info["all_dual"] <= tol * obj)
        info["converged"] = (converged and loose == tol) or info["certified"]
        if verbose:
            print(f"[convex] round {rounds}: {W.shape[1]} patterns, "
                  f"max v/lam {cmax / lam:.6f} over {cand.shape[1]} "
                  f"({n_hard} by least squares)")
        if round_tasks is not None and round_tasks.end(Z, info):
            info["stopped"] = True
        if info["certified"] or info.get("stopped") or not converged:
            break
        # only the violated columns are compared with the working set (a
        # set lookup per column: seconds over 10^6 cells)
        fresh = values > lam * (1.0 + VIOLATION)
        over = np.flatnonzero(fresh)
        fresh[over] = _new_columns(W, cand[:, over])
        if not np.any(fresh) or rounds >= max_rounds:
            if loose == tol:
                break
            # a last solve to tol over the patterns in use: the inactive
            # ones (every cell is checked again after it) only slow ADMM's
            # tail, which is sublinear and slowest on redundant programs
            loose = tol
            P = W.shape[1]
            norms = np.linalg.norm(state[1], axis=0)
            keep = (norms[:P] > 0.0) | (norms[P:] > 0.0)
            if np.any(keep) and not np.all(keep):
                W = np.ascontiguousarray(W[:, keep])
                state = select_state(state, keep)
            continue
        idx = np.flatnonzero(fresh)
        idx = idx[np.argsort(-values[idx], kind="stable")[:add]]
        W = np.ascontiguousarray(np.concatenate([W, cand[:, idx]], axis=1))
        state = extend_state(state, idx.size)
    return Z, W, info
