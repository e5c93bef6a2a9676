r"""The two-layer BN-ReLU network, its whitened form and the map between them.

Network (``m`` hidden units, population statistics over the training batch)::

    f(X) = sum_j relu(gamma_j (X w_j - mean_j) / std_j + alpha_j) v_j,
    std_j = sqrt(mean((X w_j - mean_j)^2)),

objective ``1/2 ||f(X) - y||^2 + beta/2 sum_j (gamma_j^2 + alpha_j^2 + v_j^2)``.

Whitening. With the compact SVD ``X_c = U Sigma Vᵀ`` (rank ``r``) and
``q = Sigma Vᵀ w``: ``X_c w = U q`` and ``std = ||q|| / sqrt(n)``, so

    BN(X w) = gamma sqrt(n) U q/||q|| + alpha 1 = U' s,
    U' = [U, 1/sqrt(n)],   s = sqrt(n) [gamma q/||q||; alpha],

and ``||s||^2 = n (gamma^2 + alpha^2)``. ``U'`` has orthonormal columns
(``1 ⟂ range(U)`` as ``X_c`` is centered), and every ``s`` in R^{r+1} is
reached. A unit's output ``relu(U' s) v`` is unchanged by ``s -> c s``,
``v -> v/c`` (``c > 0``), and ``min_c beta/2 (c^2 ||s||^2/n + v^2/c^2) =
beta |v| ||s|| / sqrt(n)``: the network's problem is the two-layer ReLU
problem on ``A = U'`` with the path penalty ``lam sum_j |v_j| ||s_j||``,
``lam = beta / sqrt(n)``, whose convex form (Pilanci and Ergen 2020) is the
cone-constrained group lasso of :mod:`._solver`.

Recovery. A non-zero group ``z`` with output sign ``sigma`` gives the unit
``s = n^{1/4} z / sqrt(||z||)``, ``v = sigma n^{-1/4} sqrt(||z||)`` (the
balanced scaling, where the penalty equals ``lam ||z||``), then
``gamma = ||s_{1:r}|| / sqrt(n)``, ``alpha = s_{r+1} / sqrt(n)`` and
``w = sqrt(n) V Sigma^{-1} s_{1:r} / ||s_{1:r}||``, scaled so that the
training standard deviation of ``X w`` is 1.
"""

import numpy as np
import scipy.sparse as sp

__all__ = [
    "whiten",
    "recover_network",
    "bn_relu_forward",
    "bn_relu_objective",
    "bn_relu_value_and_grad",
    "closed_form",
]


def whiten(X):
    """``(xbar, V, sigma, A)``: the centered data's compact SVD and ``U'``.

    Dense ``X``: ``numpy.linalg.svd`` of ``X - xbar`` (a centered copy; the
    input is not modified). Sparse ``X`` is never densified: the ``d x d``
    covariance ``XᵀX - n xbar xbarᵀ`` gives a first basis ``V0`` of the
    row space, then the thin SVD of the dense ``n x r`` matrix ``X_c V0``
    (formed as ``X V0 - 1 xbarᵀV0``) gives ``U``, ``sigma`` and the
    rotation of ``V0``, so ``U`` is orthonormal to rounding. The ``d x d``
    matrix is dense: meant for ``d`` up to a few thousand.

    Singular values below ``max(n, d) eps ||X||_F`` (``sqrt(eps) ||X||_F``
    for the covariance route, which squares them) are dropped. The cutoff is
    relative to the *uncentered* data: centering a constant column leaves a
    rounding offset of the order of the column's size times ``eps``, which
    must not count as a direction (it would duplicate the constant column
    of ``U'``).
    """
    n, d = X.shape
    eps = np.finfo(np.float64).eps
    if sp.issparse(X):
        xbar = np.asarray(X.mean(axis=0)).ravel()
        scale = np.sqrt(X.multiply(X).sum())
        C = (X.T @ X).toarray() - n * np.outer(xbar, xbar)
        evals, evecs = np.linalg.eigh((C + C.T) / 2.0)
        keep = evals > (np.sqrt(eps) * scale) ** 2
        V0 = evecs[:, keep]
        B = np.asarray(X @ V0) - np.outer(np.ones(n), xbar @ V0)
        U, sig, Qt = np.linalg.svd(B, full_matrices=False)
        V = V0 @ Qt.T
        cutoff = np.sqrt(eps) * scale
    else:
        xbar = X.mean(axis=0)
        scale = np.linalg.norm(X)
        U, sig, Vt = np.linalg.svd(X - xbar, full_matrices=False)
        V = Vt.T
        cutoff = max(n, d) * eps * scale
    keep = sig > cutoff
    sigma = sig[keep]
    V = np.ascontiguousarray(V[:, keep])
    U = U[:, keep]
    A = np.ascontiguousarray(np.hstack([U, np.full((n, 1), 1.0 / np.sqrt(n))]))
    return xbar, V, sigma, A


def recover_network(Z, V, sigma, n):
    """The network's units from the program's groups (zero groups dropped).

    Parameters
    ----------
    Z : ndarray of shape (r + 1, 2P)
        Groups ``u_1..u_P`` (output sign +1) then ``u'_1..u'_P`` (sign -1).
    V, sigma : the whitening's right singular vectors and values.
    n : int
        Number of training samples.

    Returns
    -------
    W, gamma, alpha, v : ndarrays of shapes (d, m), (m,), (m,), (m,)
    """
    r = sigma.shape[0]
    P = Z.shape[1] // 2
    norms = np.linalg.norm(Z, axis=0)
    cols = np.flatnonzero(norms > 0.0)
    d = V.shape[0]
    m = cols.size
    W = np.zeros((d, m))
    gamma = np.zeros(m)
    alpha = np.zeros(m)
    v = np.zeros(m)
    root_n = np.sqrt(n)
    for i, j in enumerate(cols):
        zeta = norms[j]
        s = n ** 0.25 * Z[:, j] / np.sqrt(zeta)
        v[i] = (1.0 if j < P else -1.0) * n ** -0.25 * np.sqrt(zeta)
        q = s[:r]
        q_norm = np.linalg.norm(q)
        alpha[i] = s[r] / root_n
        gamma[i] = q_norm / root_n
        if r == 0:
            continue  # constant data: a unit is relu(alpha) v, w is moot
        q_hat = q / q_norm if q_norm > 0.0 else np.eye(r)[0]
        W[:, i] = root_n * (V @ (q_hat / sigma))
    return W, gamma, alpha, v


def prune_groups(A, Z):
    """A network with at most ``n + 1`` units and the same objective.

    The network's output is ``sum_j t_j a_j`` with ``t_j = ||z_j||`` and
    ``a_j = sign_j relu(A z_j / t_j)`` (ReLU is positively homogeneous),
    its penalty ``lambda sum_j t_j``. With more than ``n + 1`` nonzero
    groups the vectors ``(a_j, 1)`` of ``R^(n+1)`` are linearly dependent
    (Caratheodory): a null vector ``c`` has ``sum_j c_j a_j = 0`` and
    ``sum_j c_j = 0``, so ``t <- t - theta c``, with ``theta`` the largest
    step keeping ``t >= 0``, leaves the output and the penalty unchanged
    and zeroes at least one group. Repeated until at most ``n + 1`` groups
    are left; each group keeps its direction, so the cones hold.

    Parameters
    ----------
    A : ndarray of shape (n, k)
        The whitened data with the intercept column.
    Z : ndarray of shape (k, 2P)
        Groups ``u_1..u_P`` (output sign +1) then ``u'_1..u'_P`` (-1).

    Returns
    -------
    Z : ndarray of shape (k, 2P)
        A new array with at most ``n + 1`` nonzero columns.

    References
    ----------
    M. Pilanci and T. Ergen, "Neural networks are convex regularizers",
    ICML 2020: an optimal network needs at most ``n + 1`` neurons, by
    Caratheodory's theorem, whose argument this is.
    """
    Z = np.array(Z, dtype=np.float64, copy=True)
    n = A.shape[0]
    P2 = Z.shape[1]
    sign = np.where(np.arange(P2) < P2 // 2, 1.0, -1.0)
    t = np.linalg.norm(Z, axis=0)
    active = np.flatnonzero(t > 0.0)
    if active.size <= n + 1:
        return Z
    directions = Z[:, active] / t[active]
    contrib = sign[active] * np.maximum(A @ directions, 0.0)
    ta = t[active]
    # the null space of [contrib; 1] once, then one column eliminated per
    # step: a null vector with a zero at the dropped column is a null vector
    # of the smaller matrix (an SVD per step cost O(m^3), seconds for the
    # hundreds of groups of a working-set solve)
    M = np.vstack([contrib, np.ones(ta.size)])
    _, sv, Vt = np.linalg.svd(M, full_matrices=True)
    rank = int(np.sum(sv > sv[0] * max(M.shape) * np.finfo(float).eps))
    N = Vt[rank:].T
    steps = 0
    while ta.size > n + 1 and N.shape[1] > 0:
        c = N[:, 0]
        if c.max() <= 0.0:
            c = -c
        pos = np.flatnonzero(c > 0.0)
        ratios = ta[pos] / c[pos]
        drop = pos[np.argmin(ratios)]
        ta = np.maximum(ta - ratios.min() * c, 0.0)
        ta[drop] = 0.0
        rest = N[:, 1:] - np.outer(c, N[drop, 1:] / c[drop])
        keep = np.ones(ta.size, dtype=bool)
        keep[drop] = False
        N = rest[keep]
        ta, directions, active = ta[keep], directions[:, keep], active[keep]
        steps += 1
        if steps % 32 == 0 and N.shape[1] > 0:
            N = np.linalg.qr(N)[0]  # a better-conditioned basis, same span
    live = ta > 0.0
    ta, directions, active = ta[live], directions[:, live], active[live]
    out = np.zeros_like(Z)
    out[:, active] = directions * ta
    return out


def _bn_stats(H):
    """Population mean and standard deviation of each column of ``H``."""
    mean = H.mean(axis=0)
    std = np.sqrt(np.mean((H - mean) ** 2, axis=0))
    return mean, std


def bn_relu_forward(X, W, mean, std, gamma, alpha, v):
    """``f(X)`` with the given BN statistics (prediction mode).

    A unit with zero training spread (constant ``X w``) outputs
    ``relu(alpha) v``: its normalised pre-activation is taken as 0.
    """
    H = np.asarray(X @ W)
    safe = np.where(std > 0.0, std, 1.0)
    Zn = np.where(std > 0.0, (H - mean) / safe, 0.0)
    act = np.maximum(gamma * Zn + alpha, 0.0)
    return act @ v


def bn_relu_objective(X, y, W, gamma, alpha, v, beta):
    """The network's training objective with the batch statistics of ``X``.

    ``1/2 ||f(X) - y||^2 + beta/2 (||gamma||^2 + ||alpha||^2 + ||v||^2)``;
    ``v`` and ``y`` may have an output axis.
    """
    mean, std = _bn_stats(np.asarray(X @ W))
    f = bn_relu_forward(X, W, mean, std, gamma, alpha, v)
    return (0.5 * np.sum((f - y) ** 2)
            + 0.5 * beta * (gamma @ gamma + alpha @ alpha + np.sum(v * v)))


def bn_relu_value_and_grad(X, y, W, gamma, alpha, v, beta):
    """The objective and its gradient in ``(W, gamma, alpha, v)``.

    Batch statistics are functions of ``W`` here (training mode), so the
    gradient flows through the mean and the standard deviation. Dense ``X``
    with every unit's spread positive.
    """
    H = X @ W
    mean, std = _bn_stats(H)
    Zn = (H - mean) / std
    pre = gamma * Zn + alpha
    act = np.maximum(pre, 0.0)
    f = act @ v
    e = f - y
    value = (0.5 * e @ e
             + 0.5 * beta * (gamma @ gamma + alpha @ alpha + v @ v))
    g_v = act.T @ e + beta * v
    g_pre = np.outer(e, v) * (pre > 0.0)
    g_gamma = np.sum(g_pre * Zn, axis=0) + beta * gamma
    g_alpha = g_pre.sum(axis=0) + beta * alpha
    g_z = g_pre * gamma
    # through z = (h - mean)/std with population statistics
    g_h = (g_z - g_z.mean(axis=0) - Zn * np.mean(g_z * Zn, axis=0)) / std
    g_W = X.T @ g_h
    return value, (g_W, g_gamma, g_alpha, g_v)


def closed_form(A, y, lam):
    """The program's minimiser when ``A`` is square (``n`` samples in general
    position, ``n <= d``).

    Then ``h = A u`` ranges over all of R^n with ``||h|| = ||u||``, any
    pattern is realisable, and the problem over networks reduces to
    ``min_{p, q >= 0} 1/2 ||p - q - y||^2 + lam (||p|| + ||q||)`` (merging
    same-sign units can only lower the penalty, by the triangle inequality,
    and ``p``, ``q`` with a common support can both be lowered there). It
    separates into ``p = y_+ (1 - lam/||y_+||)_+`` and
    ``q = y_- (1 - lam/||y_-||)_+``: at most two units, with patterns
    ``1[y > 0]`` and ``1[y < 0]``.

    Returns
    -------
    Z : ndarray of shape (n, 2)
        The groups in :mod:`._solver`'s layout with one pattern pair:
        column 0 is ``Aᵀp`` (output sign +1), column 1 is ``Aᵀq`` (-1).
    objective, gap : float
        The optimum and the duality gap of the dual point ``theta = e``
        (feasible: ``||e_+||, ||e_-|| <= lam``).
    """
    y_pos = np.maximum(y, 0.0)
    y_neg = np.maximum(-y, 0.0)
    parts = []
    for part in (y_pos, y_neg):
        nrm = np.linalg.norm(part)
        c = 1.0 - lam / nrm if nrm > lam else 0.0
        parts.append(c * part)
    p, q = parts
    Z = np.column_stack([A.T @ p, A.T @ q])
    e = p - q - y
    objective = 0.5 * e @ e + lam * (np.linalg.norm(p) + np.linalg.norm(q))
    # dual feasibility of theta = e on every pattern and sign: the worst
    # pattern collects e's entries of one sign
    worst = max(np.linalg.norm(np.maximum(e, 0.0)),
                np.linalg.norm(np.minimum(e, 0.0)))
    t = 1.0 if worst <= lam else lam / worst
    dual = -0.5 * t * t * (e @ e) - t * (e @ y)
    return Z, objective, objective - dual


def train_bn_relu_gd(X, y, n_neurons, beta, max_iter=2000, random_state=None,
                     init_scale=1.0):
    """Train the non-convex network by full-batch gradient descent.

    The local-search baseline against which the convex program's optimum is
    compared: gradient descent on ``(W, gamma, alpha, v)`` in training mode
    (batch statistics are functions of ``W``), from a Gaussian start, with
    a backtracking (Armijo) step that is doubled after each success so that
    no learning rate has to be tuned.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
    y : ndarray of shape (n_samples,)
    n_neurons : int
    beta : float
    max_iter : int, default=2000
    random_state : int, RandomState instance or None
    init_scale : float, default=1.0
        Standard deviation of the initial ``gamma`` and ``alpha``; ``v``
        starts with ``init_scale / sqrt(n_neurons)``, so the initial output
        is of order ``init_scale`` whatever the width.

    Returns
    -------
    params : tuple ``(W, gamma, alpha, v)``
    curve : ndarray
        The objective at every iterate.
    """
    from sklearn.utils import check_random_state

    rng = check_random_state(random_state)
    X = np.asarray(X, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    d = X.shape[1]
    params = [rng.standard_normal((d, n_neurons)),
              init_scale * rng.standard_normal(n_neurons),
              init_scale * rng.standard_normal(n_neurons),
              init_scale / np.sqrt(n_neurons) * rng.standard_normal(n_neurons)]
    value, grad = bn_relu_value_and_grad(X, y, *params, beta)
    step = 1e-2
    curve = [value]
    for _ in range(max_iter):
        g_sq = sum(float(np.sum(g * g)) for g in grad)
        if g_sq == 0.0:
            break
        while True:
            trial = [p - step * g for p, g in zip(params, grad, strict=True)]
            t_value, t_grad = bn_relu_value_and_grad(X, y, *trial, beta)
            if t_value <= value - 0.5 * step * g_sq:
                break
            step *= 0.5
            if step < 1e-20:
                return tuple(params), np.asarray(curve)
        params, value, grad = trial, t_value, t_grad
        curve.append(value)
        step *= 2.0
    return tuple(params), np.asarray(curve)
