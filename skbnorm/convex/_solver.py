r"""The cone-constrained group lasso of the convex BN-ReLU network.

Problem (one output; ``A`` n x k with orthonormal columns, patterns
``D_p = diag(d_p)``, ``p = 1..P``, signs ``S_p = 2 D_p - I``)::

    min_Z  1/2 ||sum_p D_p A (u_p - u'_p) - y||^2 + lam sum_p (||u_p|| + ||u'_p||)
    s.t.   S_p A u_p >= 0,  S_p A u'_p >= 0.

``Z`` (k x 2P) holds ``u_1..u_P`` then ``u'_1..u'_P``; column ``j`` has
pattern ``j mod P`` and output sign ``sigma_j = +1`` (``j < P``) or ``-1``.
Write ``M Z = sum_j sigma_j D_j A z_j``.

Solver: ADMM on the splitting ``Z = V`` (``V`` carries the group norms) and
``S A Z = T`` (``T >= 0`` carries the cones), with over-relaxation and
residual balancing of the penalty ``rho`` (Boyd et al. 2011, §3.4). The
``Z`` step is the linear system ``(MᵀM + 2 rho I) Z = R``: ``AᵀA = I`` makes
the cone term ``rho I``, and Woodbury's identity reduces the system to the
``n x n`` matrix ``2 rho I + M Mᵀ`` with ``M Mᵀ = 2 (A Aᵀ) ∘ (D Dᵀ)``, inverted
once per ``rho``. An iteration is four ``n x k x 2P`` products (BLAS through
``np.dot`` in numba) and fused elementwise loops.

Certificate: the Lagrange dual ``max_{theta, mu >= 0} -1/2 ||theta||^2 -
thetaᵀy`` s.t. ``||Aᵀ(sigma_j D_j theta - S_j mu_j)|| <= lam`` for every
column ``j``. ``theta = e`` (the residual) and ``mu = -rho b`` (the scaled
multipliers of ``S A Z = T``) are optimal at the solution; scaled into
feasibility they give a lower bound on the program's optimum, hence the
duality gap.
"""

import math

import numpy as np

from .._numba import jit

__all__ = ["admm_group_lasso", "dual_bound", "primal_value", "network_value"]


@jit
def _group_norms(Z, lam):
    k, P2 = Z.shape
    acc = 0.0
    for j in range(P2):
        nrm = 0.0
        for q in range(k):
            nrm += Z[q, j] * Z[q, j]
        acc += math.sqrt(nrm)
    return lam * acc


@jit
def _residual(H, Dm, y):
    """``e = sum_j sigma_j D_j h_j - y`` from ``H = A Z``."""
    n = H.shape[0]
    P = H.shape[1] // 2
    e = np.empty(n)
    for i in range(n):
        acc = -y[i]
        for p in range(P):
            if Dm[i, p]:
                acc += H[i, p] - H[i, P + p]
        e[i] = acc
    return e


@jit
def _network_loss(H, y):
    """``1/2 ||sum_j sigma_j relu(h_j) - y||^2`` from ``H = A Z``."""
    n, P2 = H.shape
    P = P2 // 2
    loss = 0.0
    for i in range(n):
        e = -y[i]
        for p in range(P):
            if H[i, p] > 0.0:
                e += H[i, p]
            if H[i, P + p] > 0.0:
                e -= H[i, P + p]
        loss += 0.5 * e * e
    return loss


@jit
def _cone_violation(H, Dm):
    """``||(-S H)_+||_F``: how far ``Z`` (``H = A Z``) is outside the cones."""
    n, P2 = H.shape
    P = P2 // 2
    acc = 0.0
    for i in range(n):
        for j in range(P2):
            h = H[i, j] if Dm[i, j % P] else -H[i, j]
            if h < 0.0:
                acc += h * h
    return math.sqrt(acc)


@jit
def _dual(A, Dm, y, e, Lam, lam):
    """The dual bound at ``theta = e``, ``mu = max(Lam, 0)``, scaled by ``t``."""
    n, k = A.shape
    P2 = Lam.shape[1]
    P = P2 // 2
    W = np.empty((n, P2))
    for i in range(n):
        # W_j = sigma_j D_j e - S_j mu_j: its columns' A-images are the dual
        # constraints' left-hand sides
        for p in range(P):
            # mu >= 0 is the dual's constraint: clamp what the caller passes
            m0 = max(Lam[i, p], 0.0)
            m1 = max(Lam[i, P + p], 0.0)
            if Dm[i, p]:
                W[i, p] = e[i] - m0
                W[i, P + p] = -e[i] - m1
            else:
                W[i, p] = m0
                W[i, P + p] = m1
    G = np.dot(A.T, W)
    cmax = 0.0
    for j in range(P2):
        nrm = 0.0
        for q in range(k):
            nrm += G[q, j] * G[q, j]
        cmax = max(cmax, math.sqrt(nrm))
    return scaled_dual(e, y, cmax, lam)


@jit
def scaled_dual(e, y, cmax, lam):
    """The dual objective at ``theta = t e`` with ``t`` best in
    ``[0, min(1, lam / cmax)]``: the largest ``t`` whose point meets every
    constraint when the largest constraint value at ``theta = e`` is
    ``cmax``."""
    t_max = 1.0 if cmax <= lam else lam / cmax
    ee = 0.0
    ey = 0.0
    for i in range(e.shape[0]):
        ee += e[i] * e[i]
        ey += e[i] * y[i]
    t = -ey / ee if ee > 0.0 else 0.0
    t = min(max(t, 0.0), t_max)
    return -0.5 * t * t * ee - t * ey


@jit
def primal_value(A, Dm, y, Z, lam):
    """The program's objective at ``Z`` (constraints not checked)."""
    e = _residual(np.dot(A, Z), Dm, y)
    return 0.5 * np.dot(e, e) + _group_norms(Z, lam)


@jit
def _violation(A, Dm, Z):
    """``||(-S A Z)_+||_F``: how far ``Z`` is outside the cones."""
    return _cone_violation(np.dot(A, Z), Dm)


@jit
def dual_bound(A, Dm, y, Z, Lam, lam):
    """A lower bound on the program's optimum from ``theta = e``, ``mu = Lam``.

    Valid for any ``Z`` and any ``Lam`` (negative entries are clamped to 0,
    the dual's constraint). Both are scaled by ``t`` into the dual's
    feasible set and ``t`` is then chosen to maximise the dual objective.
    """
    return _dual(A, Dm, y, _residual(np.dot(A, Z), Dm, y), Lam, lam)


@jit
def network_value(A, y, Z, lam):
    """The ReLU network's objective at ``Z``: ``relu(A z_j)`` in place of ``D_j A z_j``.

    Equal to the program's objective where ``Z`` satisfies the cones; a
    point of the program over *all* patterns in any case (each neuron then
    uses its actual pattern), so an upper bound on that program's optimum.
    """
    return _network_loss(np.dot(A, Z), y) + _group_norms(Z, lam)


@jit
def _certificate(A, Dm, y, Z, Lam, lam):
    """``(network value, program value, dual bound, cone violation)`` at
    ``Z`` from one product ``A Z``: ADMM's periodic check."""
    H = np.dot(A, Z)
    e = _residual(H, Dm, y)
    norms = _group_norms(Z, lam)
    return (_network_loss(H, y) + norms, 0.5 * np.dot(e, e) + norms,
            _dual(A, Dm, y, e, Lam, lam), _cone_violation(H, Dm))


@jit
def _admm_steps(A, DD, Sg, Mty, Ginv, y, lam, rho, alpha, Z, V, T, a, b,
                n_steps):
    """``n_steps`` ADMM iterations in place; returns the last residuals.

    ``DD[:, j] = sigma_j d_j`` and ``Sg[:, j] = S_j``'s diagonal as floats.
    Returns ``(primal residual, dual residual)``.
    """
    n, k = A.shape
    P2 = Z.shape[1]
    W = np.empty((n, P2))
    m = np.empty(n)
    rp = 0.0
    rd = 0.0
    for _ in range(n_steps):
        # Z step: (MᵀM + 2 rho I) Z = Mᵀy + rho (V - a) + rho Aᵀ(S (T - b))
        for i in range(n):
            for j in range(P2):
                W[i, j] = Sg[i, j] * (T[i, j] - b[i, j])
        # elementwise loops rather than array expressions: each expression
        # (and each slice assignment) cost numba a second or more to compile,
        # loops a tenth of that, for the same sums in the same order
        R = np.dot(A.T, W)
        for q in range(k):
            for j in range(P2):
                R[q, j] = Mty[q, j] + rho * (V[q, j] - a[q, j]) + rho * R[q, j]
        AR = np.dot(A, R)
        for i in range(n):
            acc = 0.0
            for j in range(P2):
                acc += DD[i, j] * AR[i, j]
            m[i] = acc
        c = np.dot(Ginv, m)
        for i in range(n):
            for j in range(P2):
                W[i, j] = DD[i, j] * c[i]
        ATW = np.dot(A.T, W)
        for q in range(k):
            for j in range(P2):
                Z[q, j] = (R[q, j] - ATW[q, j]) / (2.0 * rho)
        AZ = np.dot(A, Z)
        # V step (group soft-threshold) with over-relaxation
        rp = 0.0
        rd = 0.0
        for j in range(P2):
            nrm = 0.0
            for q in range(k):
                v = alpha * Z[q, j] + (1.0 - alpha) * V[q, j] + a[q, j]
                nrm += v * v
            nrm = math.sqrt(nrm)
            f = 1.0 - (lam / rho) / nrm if nrm > lam / rho else 0.0
            for q in range(k):
                zr = alpha * Z[q, j] + (1.0 - alpha) * V[q, j]
                v_new = f * (zr + a[q, j])
                a[q, j] += zr - v_new
                rp += (Z[q, j] - v_new) ** 2
                rd += (v_new - V[q, j]) ** 2
                V[q, j] = v_new
        # T step (projection on the orthant) with over-relaxation
        for i in range(n):
            for j in range(P2):
                saz = Sg[i, j] * AZ[i, j]
                sr = alpha * saz + (1.0 - alpha) * T[i, j]
                t_new = sr + b[i, j]
                if t_new < 0.0:
                    t_new = 0.0
                b[i, j] += sr - t_new
                rp += (saz - t_new) ** 2
                rd += (t_new - T[i, j]) ** 2
                T[i, j] = t_new
    return math.sqrt(rp), rho * math.sqrt(rd)

#: ADMM iterations between certificate checks (and callback calls)
CHECK_EVERY = 25


def admm_group_lasso(A, Dm, y, lam, tol=1e-4, max_iter=10000, rho=None,
                     alpha=1.6, check_every=CHECK_EVERY, verbose=0,
                     callback=None,
                     start=None):
    """Solve the program by ADMM; stop on the duality gap.

    Parameters
    ----------
    A : ndarray of shape (n, k), orthonormal columns
    Dm : ndarray of shape (n, P), dtype bool
        The activation patterns.
    y : ndarray of shape (n,)
    lam : float
        The group-lasso weight (``beta / sqrt(n)`` for the BN network).
    tol : float
        Stop when ``network_value - dual``, ``program_value - dual`` are at
        most ``tol`` times the respective value and the cone violation
        ``||(-S A V)_+||_F`` is at most ``tol ||y||``.
    max_iter : int
        ADMM iterations at most.
    rho : float, optional
        Initial penalty; default ``lam``.
    alpha : float
        Over-relaxation in ``[1, 2)``.
    check_every : int
        ADMM iterations between two evaluations of the certificate.
    verbose : int
        Print a line per evaluation.
    callback : callable, optional
        ``callback(V, info)`` after every evaluation of the certificate;
        a true return value stops the solve there (``info["stopped"]``).
    start : tuple, optional
        ADMM's state ``(Z, V, a, T, b, rho)`` to continue from (a previous
        solve's ``info["state"]``, extended to new patterns by
        :func:`extend_state`); ``rho`` then replaces the argument.

    Returns
    -------
    V, info : ndarray of shape (k, 2P), dict
        ``V`` is the group-sparse iterate; ``info`` has ``objective`` (the
        network value at ``V``), ``program`` (the program's value at ``V``),
        ``dual``, ``gap``, ``violation``, ``n_iter``, ``converged`` and
        ``state``.
    """
    A = np.ascontiguousarray(A, dtype=np.float64)
    Dm = np.ascontiguousarray(Dm, dtype=np.bool_)
    y = np.ascontiguousarray(y, dtype=np.float64)
    n, k = A.shape
    P = Dm.shape[1]
    Df = Dm.astype(np.float64)
    DD = np.ascontiguousarray(np.concatenate([Df, -Df], axis=1))
    Sg = np.ascontiguousarray(np.concatenate([2.0 * Df - 1.0] * 2, axis=1))
    Mty = np.ascontiguousarray(A.T @ (DD * y[:, None]))
    G = 2.0 * (A @ A.T) * (Df @ Df.T)
    if start is not None:
        Z, V, a, T, b, rho = (np.ascontiguousarray(v, dtype=np.float64)
                              if isinstance(v, np.ndarray) else float(v)
                              for v in start)
        if Z.shape != (k, 2 * P) or T.shape != (n, 2 * P):
            raise ValueError("start does not match the patterns' shapes")
    else:
        if rho is None:
            # measured on small problems (moons, Gaussian data): rho = lam
            # reached a given gap in 3-10x fewer iterations than rho from
            # the loss curvature (sqrt ||G||); residual balancing adapts it
            rho = lam if lam > 0.0 else 1e-3
        Z = np.zeros((k, 2 * P))
        V = np.zeros((k, 2 * P))
        a = np.zeros((k, 2 * P))
        T = np.zeros((n, 2 * P))
        b = np.zeros((n, 2 * P))
    eye = np.eye(n)
    Ginv = np.linalg.inv(2.0 * rho * eye + G)
    n_iter = 0
    y_norm = float(np.linalg.norm(y))
    info = {"converged": False}
    while n_iter < max_iter:
        steps = min(check_every, max_iter - n_iter)
        rp, rd = _admm_steps(A, DD, Sg, Mty, Ginv, y, lam, rho, alpha, Z, V,
                             T, a, b, steps)
        n_iter += steps
        obj, program, dual, viol = _certificate(A, Dm, y, V, -rho * b, lam)
        # the network's value bounds the program over *all* patterns from
        # above, so with sampled patterns it may fall below this program's
        # dual bound: convergence also asks the program's own gap and its
        # cone violation to be small
        converged = (obj - dual <= tol * obj
                     and program - dual <= tol * program
                     and viol <= tol * y_norm)
        info = {"objective": obj, "program": program, "dual": dual,
                "gap": obj - dual, "violation": viol, "n_iter": n_iter,
                "converged": converged}
        if verbose:
            print(f"[convex] iter {n_iter:6d}  objective {obj:.10g}  "
                  f"gap {obj - dual:.3e}  rho {rho:.3g}")
        if callback is not None and callback(V, info):
            info["stopped"] = True
            break
        if info["converged"]:
            break
        # residual balancing: keep the primal and dual residuals within 10x
        if rp > 10.0 * rd or rd > 10.0 * rp:
            f = 2.0 if rp > rd else 0.5
            rho *= f
            a /= f
            b /= f
            Ginv = np.linalg.inv(2.0 * rho * eye + G)
    info["state"] = (Z, V, a, T, b, rho)
    return V, info


def extend_state(state, m):
    """ADMM's state with ``m`` new patterns appended (their groups zero).

    The columns are ``u_1..u_P, u'_1..u'_P``; the new patterns' columns go
    after each half, in the order of :func:`admm_group_lasso`'s layout for
    the patterns ``[old, new]``.
    """
    Z, V, a, T, b, rho = state
    P = Z.shape[1] // 2

    def grow(M):
        z = np.zeros((M.shape[0], m))
        return np.ascontiguousarray(
            np.concatenate([M[:, :P], z, M[:, P:], z], axis=1))

    return grow(Z), grow(V), grow(a), grow(T), grow(b), rho


def select_state(state, keep):
    """ADMM's state restricted to the patterns ``keep`` (boolean, length P)."""
    Z, V, a, T, b, rho = state
    cols = np.concatenate([keep, keep])

    def pick(M):
        return np.ascontiguousarray(M[:, cols])

    return pick(Z), pick(V), pick(a), pick(T), pick(b), rho
