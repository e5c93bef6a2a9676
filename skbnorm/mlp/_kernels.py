"""numba kernels of the MLP's per-layer elementwise, BN and reduction work.

The matrix products (``A @ W``, ``A.T @ dH``, ``dH @ W.T``) stay with BLAS
(or scipy's sparse product for a sparse first layer); everything between two
products is one of the fused passes below, so that a layer reads its
``n x m`` block a fixed small number of times instead of once per NumPy
ufunc. Activation codes: 0 = tanh, 1 = relu. Sums over the rows are
accumulated in float64 whatever the array dtype.
"""

import numpy as np

from .._numba import jit
from ..objectives._losses import SOFTPLUS, phi_derivs

TANH, RELU = 0, 1

#: the output losses (:data:`skbnorm.mlp._model.OUTPUT_LOSS_CODES`)
SQUARED_ERROR, BINARY_LOG_LOSS, SOFTMAX_LOG_LOSS = 0, 1, 2

#: Relative floor of the BN variance: ``sigma^2 = var + eps * E[h^2]``. It is
#: homogeneous of degree 2 in the column of ``W``, so the layer stays exactly
#: invariant to a positive rescaling of a unit's weights, and it keeps a
#: column with (almost) no spread over the batch from dividing by zero.
BN_EPS = 1e-10


@jit
def _activate(p, act):
    if act == 0:
        # tanh from one exp: 2.3x faster than libm's tanh in these loops
        # (255 us against 584 us on a 200 x 100 block), within 2.3e-16
        e = np.exp(-2.0 * abs(p))
        r = (1.0 - e) / (1.0 + e)
        return r if p >= 0.0 else -r
    return p if p > 0.0 else 0.0


@jit
def _act_slope(a, act):
    # from the activation's output alone: tanh' = 1 - a^2, relu' = [a > 0]
    if act == 0:
        return 1.0 - a * a
    return 1.0 if a > 0.0 else 0.0


@jit
def bn_forward(H, s, g, b, act, eps):
    """Training-mode BN and activation of ``H`` (n x m, C order).

    Returns ``Z`` (normalized pre-activations), ``A = act(g Z + b)``,
    ``mu`` and ``sigma`` (the weighted batch mean and standard deviation).
    """
    n, m = H.shape
    mu = np.zeros(m)
    sq = np.zeros(m)
    for i in range(n):
        si = s[i]
        for j in range(m):
            mu[j] += si * H[i, j]
    for i in range(n):
        si = s[i]
        for j in range(m):
            d = H[i, j] - mu[j]
            sq[j] += si * d * d
    sigma = np.empty(m)
    for j in range(m):
        v = sq[j] + eps * (sq[j] + mu[j] * mu[j])
        sigma[j] = np.sqrt(v) if v > 0.0 else 1.0
    Z = np.empty_like(H)
    A = np.empty_like(H)
    for i in range(n):
        for j in range(m):
            z = (H[i, j] - mu[j]) / sigma[j]
            Z[i, j] = z
            A[i, j] = _activate(g[j] * z + b[j], act)
    return Z, A, mu, sigma


@jit
def bn_apply(H, mu, sigma, g, b, act):
    """Prediction-mode BN and activation with fixed statistics."""
    n, m = H.shape
    A = np.empty_like(H)
    for i in range(n):
        for j in range(m):
            A[i, j] = _activate(g[j] * (H[i, j] - mu[j]) / sigma[j] + b[j], act)
    return A


@jit
def bn_backward(dA, A, Z, sigma, g, s, act):
    """Back through ``A = act(g Z + b)`` and the batch statistics.

    Overwrites ``dA`` with ``dL/dH`` and returns it with ``dL/dg`` and
    ``dL/db``. With weighted statistics
    ``dZ_i/dH_k = (delta_ik - s_k (1 + Z_i Z_k)) / sigma``.
    """
    n, m = dA.shape
    gg = np.zeros(m)
    gb = np.zeros(m)
    for i in range(n):
        for j in range(m):
            dp = dA[i, j] * _act_slope(A[i, j], act)
            dA[i, j] = dp
            gb[j] += dp
            gg[j] += dp * Z[i, j]
    for i in range(n):
        si = s[i]
        for j in range(m):
            dA[i, j] = g[j] * (dA[i, j] - si * (gb[j] + Z[i, j] * gg[j])) / sigma[j]
    return dA, gg, gb


@jit
def scale_forward(H, c, b, act):
    """``A = act(c H + b)`` with a per-column factor ``c`` (ones without
    normalization, ``g / ||w||`` with weight normalization)."""
    n, m = H.shape
    A = np.empty_like(H)
    for i in range(n):
        for j in range(m):
            A[i, j] = _activate(c[j] * H[i, j] + b[j], act)
    return A


@jit
def scale_backward(dA, A, H, c, act):
    """Back through :func:`scale_forward`: overwrites ``dA`` with
    ``dL/dH`` and returns it with ``sum_i dL/dP_ij H_ij`` and ``dL/db``."""
    n, m = dA.shape
    gc = np.zeros(m)
    gb = np.zeros(m)
    for i in range(n):
        for j in range(m):
            dp = dA[i, j] * _act_slope(A[i, j], act)
            gb[j] += dp
            gc[j] += dp * H[i, j]
            dA[i, j] = dp * c[j]
    return dA, gc, gb


@jit
def _binary_log_loss(o, y):
    """``log(1 + e^o) - y o`` and its derivative ``sigmoid(o) - y`` (``y`` in
    {0, 1}): the linear core's logistic ``phi``, overflow-free for any ``o``."""
    v, d1, _ = phi_derivs(SOFTPLUS, o)
    return v - y * o, d1 - y


@jit
def output_loss(O, Y, s, loss):
    """Weighted loss of the output block and ``dL/dO`` (a new array).

    ``loss``: 0 = squared (``1/2 ||o - y||^2``), 1 = binary log-loss on one
    logit (``Y`` in {0, 1}), 2 = softmax cross-entropy (``Y`` one-hot).
    """
    n, k = O.shape
    dO = np.empty_like(O)
    value = 0.0
    for i in range(n):
        si = s[i]
        if loss == SQUARED_ERROR:
            for j in range(k):
                e = O[i, j] - Y[i, j]
                value += 0.5 * si * e * e
                dO[i, j] = si * e
        elif loss == BINARY_LOG_LOSS:
            v, dv = _binary_log_loss(O[i, 0], Y[i, 0])
            value += si * v
            dO[i, 0] = si * dv
        else:
            top = O[i, 0]
            for j in range(1, k):
                if O[i, j] > top:
                    top = O[i, j]
            total = 0.0
            for j in range(k):
                total += np.exp(O[i, j] - top)
            log_total = np.log(total)
            for j in range(k):
                logp = O[i, j] - top - log_total
                value -= si * Y[i, j] * logp
                dO[i, j] = si * (np.exp(logp) - Y[i, j])
    return value, dO


@jit
def _unit_objective(O, a_old, z, t, b, w, Y, s, loss, act, alpha):
    """Objective and its derivative in the scale ``t`` of one last-layer BN
    unit, the unit's normalized pre-activations being ``z``: the output is
    ``O + (act(t z + b) - a_old) w^T``. Other units' penalty is left out (a
    constant of the search)."""
    n, k = O.shape
    value = 0.5 * alpha * t * t
    deriv = alpha * t
    for i in range(n):
        a = _activate(t * z[i] + b, act)
        du = (a - a_old[i])
        chain = s[i] * _act_slope(a, act) * z[i]
        if loss == SQUARED_ERROR:
            for c in range(k):
                e = O[i, c] + du * w[c] - Y[i, c]
                value += 0.5 * s[i] * e * e
                deriv += chain * e * w[c]
        elif loss == BINARY_LOG_LOSS:
            v, dv = _binary_log_loss(O[i, 0] + du * w[0], Y[i, 0])
            value += s[i] * v
            deriv += chain * dv * w[0]
        else:
            top = O[i, 0] + du * w[0]
            for c in range(1, k):
                o = O[i, c] + du * w[c]
                if o > top:
                    top = o
            total = 0.0
            for c in range(k):
                total += np.exp(O[i, c] + du * w[c] - top)
            log_total = np.log(total)
            for c in range(k):
                logp = O[i, c] + du * w[c] - top - log_total
                value -= s[i] * Y[i, c] * logp
                deriv += chain * (np.exp(logp) - Y[i, c]) * w[c]
    return value, deriv


@jit
def last_layer_scale_search(Z, A, O, W_out, b, g, Y, s, loss, act, alpha,
                            n_steps, g_max, rtol):
    """Kohler et al.'s Algorithm 2 scale step on the last hidden BN layer.

    Unit by unit (in the units' order), with every other parameter fixed:
    bracket the zero of ``df/dg_j`` on the side its sign points to (from
    ``g_j`` to ``g_j -+ max(|g_j|, 1)``, doubled up to four times until the
    sign changes), then close in on it by false position with the Illinois
    modification (at most ``n_steps`` steps; it keeps the bracket like
    Algorithm 3's bisection and converges superlinearly), stopping when
    ``|df/dg_j|`` is below ``rtol`` times its starting value. Scales stay in
    ``[-g_max, g_max]``: where the objective still falls at the bound (a
    unit that keeps gaining as it saturates into a step), the search stops
    there. The result
    replaces ``g_j`` if it lowers the objective. ``A`` (the layer's
    activations) and ``O`` (the output block) are updated in place as units
    change, so each evaluation costs ``O(n k)``.

    Returns
    -------
    g_new : ndarray
        The new scales.
    decrease : float
        The total decrease of the objective.
    """
    n, m = Z.shape
    g_new = g.astype(np.float64)
    z = np.empty(n)
    a_old = np.empty(n)
    decrease = 0.0
    for j in range(m):
        for i in range(n):
            z[i] = Z[i, j]
            a_old[i] = A[i, j]
        w = W_out[j, :].astype(np.float64)
        bj = b[j]
        t0 = g_new[j]
        f0, d0 = _unit_objective(O, a_old, z, t0, bj, w, Y, s, loss, act, alpha)
        if d0 == 0.0:
            continue
        tol = rtol * abs(d0)
        width = max(abs(t0), 1.0)
        f_lo = f_hi = f0  # the bracket's end at t0 carries f0
        if (d0 < 0.0 and t0 >= g_max) or (d0 > 0.0 and t0 <= -g_max):
            continue
        if d0 < 0.0:
            lo, d_lo = t0, d0
            hi = min(t0 + width, g_max)
            f_hi, d_hi = _unit_objective(O, a_old, z, hi, bj, w, Y, s, loss, act,
                                      alpha)
            for _ in range(4):
                if d_hi >= 0.0 or hi >= g_max:
                    break
                lo, d_lo, f_lo = hi, d_hi, f_hi
                width *= 2.0
                hi = min(lo + width, g_max)
                f_hi, d_hi = _unit_objective(O, a_old, z, hi, bj, w, Y, s, loss,
                                          act, alpha)
        else:
            hi, d_hi = t0, d0
            lo = max(t0 - width, -g_max)
            f_lo, d_lo = _unit_objective(O, a_old, z, lo, bj, w, Y, s, loss, act,
                                      alpha)
            for _ in range(4):
                if d_lo <= 0.0 or lo <= -g_max:
                    break
                hi, d_hi, f_hi = lo, d_lo, f_lo
                width *= 2.0
                lo = max(hi - width, -g_max)
                f_lo, d_lo = _unit_objective(O, a_old, z, lo, bj, w, Y, s, loss,
                                          act, alpha)
        f_t = np.nan  # the objective at t, once t has been evaluated
        if d_lo > 0.0:  # never bracketed: the objective falls past lo
            t, f_t = lo, f_lo
        elif d_hi < 0.0:
            t, f_t = hi, f_hi
        else:
            t = 0.5 * (lo + hi)
            side = 0
            for _ in range(n_steps):
                if d_hi - d_lo > 0.0:
                    t = (lo * d_hi - hi * d_lo) / (d_hi - d_lo)
                    if not lo < t < hi:
                        t = 0.5 * (lo + hi)
                else:
                    t = 0.5 * (lo + hi)
                f_t, d = _unit_objective(O, a_old, z, t, bj, w, Y, s, loss, act,
                                       alpha)
                if abs(d) <= tol:
                    break
                if d > 0.0:
                    hi, d_hi = t, d
                    if side == 1:
                        d_lo *= 0.5
                    side = 1
                else:
                    lo, d_lo = t, d
                    if side == -1:
                        d_hi *= 0.5
                    side = -1
        if np.isnan(f_t):
            f_t, _ = _unit_objective(O, a_old, z, t, bj, w, Y, s, loss, act, alpha)
        if not f_t < f0:
            continue
        decrease += f0 - f_t
        g_new[j] = t
        for i in range(n):
            a = _activate(t * z[i] + bj, act)
            du = a - a_old[i]
            A[i, j] = a
            for c in range(O.shape[1]):
                O[i, c] += du * w[c]
    return g_new, decrease
