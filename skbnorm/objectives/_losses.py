"""Pointwise losses ``l(m, y)`` of a margin ``m``, with first and second derivatives.

Every model of the package is ``E_s[l(m_i, y_i)] + alpha/2 ||coef||^2`` with the
margin ``m_i = x_ci^T w~ + b``. A loss is named by an integer code so that the
jitted solvers can branch on it without first-class functions (which would
defeat numba's on-disk cache):

``SQUARED``
    ``l = (m - y)^2 / 2`` (least squares).
``SOFTPLUS``
    ``l = phi(-y m)`` with ``phi(t) = log(1 + e^t)``: logistic regression.
``SIGMOID``
    ``l = phi(-y m)`` with ``phi(t) = 1 / (1 + e^-t)``: a smooth 0-1 loss.

For the halfspace losses ``y`` is in {-1, +1}, so ``l'' = phi''(-y m)``. All
forms are overflow-free: they only exponentiate ``-|t|``.
"""

import math

import numpy as np

from .._numba import jit

SQUARED = 0
SOFTPLUS = 1
SIGMOID = 2

LOSS_CODES = {"squared": SQUARED, "softplus": SOFTPLUS, "sigmoid": SIGMOID}

#: ``sup_m |l''(m, y)|`` for each loss: the curvature bound used for step sizes.
#: softplus: 1/4 at t = 0; sigmoid: |s(t)(1-s(t))(1-2s(t))| peaks at 1/(6 sqrt 3).
CURVATURE_BOUND = {
    SQUARED: 1.0,
    SOFTPLUS: 0.25,
    SIGMOID: 1.0 / (6.0 * math.sqrt(3.0)),
}


@jit
def phi_derivs(code, t):
    """Return ``(phi(t), phi'(t), phi''(t))`` of a halfspace loss, overflow-free."""
    e = math.exp(-abs(t))  # in (0, 1]: never overflows
    inv = 1.0 / (1.0 + e)
    # sig_pos = sigmoid(|t|), sig_neg = sigmoid(-|t|), both without cancellation
    sig_pos = inv
    sig_neg = e * inv
    if t >= 0.0:
        s_t, s_mt = sig_pos, sig_neg
    else:
        s_t, s_mt = sig_neg, sig_pos
    d2_soft = e * inv * inv  # sigmoid(t) * sigmoid(-t)
    if code == SOFTPLUS:
        val = max(t, 0.0) + math.log1p(e)
        return val, s_t, d2_soft
    # SIGMOID: phi = s(t), phi' = s(t)s(-t), phi'' = phi' * (s(-t) - s(t))
    return s_t, d2_soft, d2_soft * (s_mt - s_t)


@jit
def loss_derivs(code, m, y):
    """Return ``(l, dl/dm, d2l/dm2)`` of loss ``code`` at margin ``m``, label ``y``."""
    if code == SQUARED:
        r = m - y
        return 0.5 * r * r, r, 1.0
    v, d1, d2 = phi_derivs(code, -y * m)
    return v, -y * d1, d2


def loss_value_derivs(loss, m, y):
    """Vectorised ``(l, l', l'')`` for arrays ``m`` and ``y`` (NumPy, not jitted).

    A convenience for tests and documentation; the solvers use
    :func:`loss_derivs` inside their kernels.
    """
    code = LOSS_CODES[loss] if isinstance(loss, str) else int(loss)
    m = np.asarray(m, dtype=np.float64)
    y = np.broadcast_to(np.asarray(y, dtype=np.float64), m.shape)
    out = np.empty((3,) + m.shape)
    flat_m, flat_y = m.ravel(), y.ravel()
    flat = out.reshape(3, -1)
    for i in range(flat_m.size):
        flat[:, i] = loss_derivs(code, flat_m[i], flat_y[i])
    return out[0], out[1], out[2]
