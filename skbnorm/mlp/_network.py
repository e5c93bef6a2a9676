r"""Fully connected networks with Batch Normalization: forward and backward.

The math layer of the MLP estimators (issue "Normalized MLPs"; the
estimators are not built yet). A network with hidden layers
``l = 1..L`` maps ``A_0 = X`` through

* normalized (``bn=True``): ``H_l = A_{l-1} W_l``,
  ``Z_l = (H_l - mu_l) / sigma_l`` with the (sample-weighted) batch mean and
  standard deviation of each column, ``P_l = g_l * Z_l + b_l``;
* unnormalized: ``P_l = A_{l-1} W_l + b_l``;

then ``A_l = act(P_l)`` (tanh or relu), and a linear output layer
``O = A_L W_o + b_o``. Losses, with sample weights ``s`` summing to one:
softmax cross-entropy ``-sum_i s_i log softmax(O_i)[y_i]`` or squared
``1/2 sum_i s_i ||O_i - Y_i||^2``, plus ``alpha/2 ||.||^2`` over the
parameters that are not scale invariant (every weight matrix without BN;
the scales ``g_l`` and the output layer's weights with BN, whose hidden
``W_l`` enter through ``W_l/sigma_l`` alone).

``sigma_l`` includes no epsilon: in training mode the network is exactly
invariant to positive rescaling of each column of ``W_l``, the property the
length-direction analysis rests on. A column with zero spread is an error
for the caller to avoid (it never occurs from a random start on data with
two distinct rows).
"""

import numpy as np

from ._model import init_params

__all__ = ["init_params", "forward", "value_and_grad", "cross_derivative_norms",
           "ACTIVATIONS"]

ACTIVATIONS = ("tanh", "relu")


def _act(P, activation):
    return np.tanh(P) if activation == "tanh" else np.maximum(P, 0.0)


def _act_grad(P, A, activation):
    return 1.0 - A * A if activation == "tanh" else (P > 0.0).astype(P.dtype)


def forward(X, params, activation, s, stats=None):
    """Output ``O`` and the per-layer cache.

    ``stats`` (a list of ``(mu, sigma)`` per hidden layer) switches BN to
    prediction mode; ``None`` uses the batch statistics of ``X`` under the
    weights ``s``.
    """
    W, b = params["W"], params["b"]
    g = params.get("g")
    L = len(W) - 1
    A = X
    cache = []
    for layer in range(L):
        H = np.asarray(A @ W[layer])
        if g is not None:
            if stats is None:
                mu = s @ H
                sigma = np.sqrt(s @ (H - mu) ** 2)
            else:
                mu, sigma = stats[layer]
            Z = (H - mu) / sigma
            P = g[layer] * Z + b[layer]
        else:
            sigma = Z = None
            P = H + b[layer]
        A_prev = A
        A = _act(P, activation)
        cache.append((A_prev, Z, sigma, P, A))
    O = np.asarray(A @ W[L]) + b[L]
    return O, cache


def _loss(O, Y, s, loss):
    """Value and ``dL/dO`` of the output loss (``Y``: one-hot or targets)."""
    if loss == "log_loss":
        O = O - O.max(axis=1, keepdims=True)
        logZ = np.log(np.exp(O).sum(axis=1, keepdims=True))
        logp = O - logZ
        value = -np.sum(s * np.sum(Y * logp, axis=1))
        dO = (np.exp(logp) - Y) * s[:, None]
    else:
        E = O - Y
        value = 0.5 * np.sum(s * np.sum(E * E, axis=1))
        dO = E * s[:, None]
    return value, dO


def value_and_grad(X, Y, params, activation, loss, alpha, s):
    """Objective and gradient (same structure as ``params``), training mode.

    Parameters
    ----------
    X : ndarray or sparse matrix of shape (n, d)
    Y : ndarray of shape (n, n_outputs)
        One-hot labels (``loss="log_loss"``) or targets (``"squared"``).
    params : dict, see :func:`init_params`
    activation : {"tanh", "relu"}
    loss : {"log_loss", "squared"}
    alpha : float
    s : ndarray of shape (n,)
        Sample weights summing to one.
    """
    W = params["W"]
    g = params.get("g")
    L = len(W) - 1
    O, cache = forward(X, params, activation, s)
    value, dO = _loss(O, Y, s, loss)
    decayed = [L] if g is not None else range(L + 1)
    for layer in decayed:
        value += 0.5 * alpha * np.sum(W[layer] ** 2)
    for scales in g or ():
        value += 0.5 * alpha * np.sum(scales ** 2)
    gW = [None] * (L + 1)
    gb = [None] * (L + 1)
    gg = [None] * L if g is not None else None
    A_last = cache[-1][4] if L else X
    gW[L] = np.asarray(A_last.T @ dO) + alpha * W[L]
    gb[L] = dO.sum(axis=0)
    dA = dO @ W[L].T
    for layer in range(L - 1, -1, -1):
        A_prev, Z, sigma, P, A = cache[layer]
        dP = dA * _act_grad(P, A, activation)
        gb[layer] = dP.sum(axis=0)
        if g is not None:
            gg[layer] = np.sum(dP * Z, axis=0) + alpha * g[layer]
            dZ = dP * g[layer]
            # through Z = (H - mu)/sigma with weighted batch statistics:
            # dZ_i/dH_j = (delta_ij - s_j (1 + Z_i Z_j)) / sigma, so the
            # statistics' terms carry the weights s of the row they enter by
            sum_dZ = dZ.sum(axis=0)
            sum_dZZ = np.sum(dZ * Z, axis=0)
            dH = (dZ - s[:, None] * sum_dZ - s[:, None] * Z * sum_dZZ) / sigma
        else:
            dH = dP
        gW[layer] = np.asarray(A_prev.T @ dH)
        if g is None:
            gW[layer] = gW[layer] + alpha * W[layer]
        if layer > 0:
            dA = dH @ W[layer].T
    grad = {"W": gW, "b": gb}
    if g is not None:
        grad["g"] = gg
    return value, grad


def _tangent(W, V):
    """``V`` with each column's component along the matching column of ``W``
    removed: the directional part of a perturbation of ``W``."""
    norms_sq = np.sum(W * W, axis=0)
    coef = np.sum(W * V, axis=0) / np.where(norms_sq > 0, norms_sq, 1.0)
    return V - W * coef


def cross_derivative_norms(X, Y, params, activation, loss, alpha, s, center,
                           n_probes=None, random_state=None):
    """Frobenius norms of the directional second cross-derivatives.

    For every hidden layer ``l``, ``||P_l (d^2 f / dW_l dW_c) P_c||_F`` with
    ``c = center`` and ``P`` the projection of a weight matrix's columns
    onto the tangent of their spheres (the directional component, Kohler et
    al. 2019, Section 5.3 and Figure 3). Hessian blocks are applied to
    vectors by central differences of :func:`value_and_grad`.

    Parameters
    ----------
    X, Y, params, activation, loss, alpha, s
        As in :func:`value_and_grad`.
    center : int
        Index of the hidden layer whose directional weights are perturbed.
    n_probes : int or None, default=None
        ``None``: exact, over an orthonormal basis of the tangent space of
        ``W_c`` (``W_c.size`` products). An int: Hutchinson's estimate
        ``E ||P_l H P_c v||^2`` over that many Gaussian probes.
    random_state : int, RandomState instance or None
        For the probes.

    Returns
    -------
    norms : ndarray of shape (n_hidden_layers,)
        ``NaN`` at ``center``.
    """
    from sklearn.utils import check_random_state

    W = params["W"]
    L = len(W) - 1
    Wc = W[center]
    if n_probes is None:
        # an orthonormal basis of the tangent space, column by column
        probes = []
        for j in range(Wc.shape[1]):
            w = Wc[:, j] / np.linalg.norm(Wc[:, j])
            basis = np.linalg.svd(np.eye(Wc.shape[0]) - np.outer(w, w))[0]
            for q in range(Wc.shape[0] - 1):
                V = np.zeros_like(Wc)
                V[:, j] = basis[:, q]
                probes.append(V)
        weight = 1.0
    else:
        rng = check_random_state(random_state)
        probes = [_tangent(Wc, rng.standard_normal(Wc.shape))
                  for _ in range(n_probes)]
        weight = 1.0 / n_probes
    acc = np.zeros(L)
    h = 1e-5 * max(np.linalg.norm(Wc), 1e-300)
    for V in probes:
        step = h / np.linalg.norm(V)
        grads = []
        for sign in (1.0, -1.0):
            shifted = dict(params)
            shifted["W"] = list(W)
            shifted["W"][center] = Wc + sign * step * V
            grads.append(value_and_grad(X, Y, shifted, activation, loss, alpha,
                                        s)[1]["W"])
        for layer in range(L):
            HV = (grads[0][layer] - grads[1][layer]) / (2.0 * step)
            acc[layer] += weight * np.sum(_tangent(W[layer], HV) ** 2)
    norms = np.sqrt(acc)
    norms[center] = np.nan
    return norms
