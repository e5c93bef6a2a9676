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
``1/2 sum_i s_i ||O_i - Y_i||^2``, plus ``alpha/2 ||W||^2`` over the weight
matrices that are not scale invariant (all of them without BN; only the
output layer's with BN, whose hidden ``W_l`` enter through ``W_l/sigma_l``
alone).

``sigma_l`` includes no epsilon: in training mode the network is exactly
invariant to positive rescaling of each column of ``W_l``, the property the
length-direction analysis rests on. A column with zero spread is an error
for the caller to avoid (it never occurs from a random start on data with
two distinct rows).
"""

import numpy as np

__all__ = ["init_params", "forward", "value_and_grad", "ACTIVATIONS"]

ACTIVATIONS = ("tanh", "relu")


def init_params(layer_sizes, bn, random_state):
    """Glorot-uniform weights, unit BN scales, zero shifts and biases.

    Parameters
    ----------
    layer_sizes : sequence of int
        ``[n_features, hidden_1, ..., hidden_L, n_outputs]``.
    bn : bool
    random_state : numpy.random.RandomState

    Returns
    -------
    params : dict
        ``W`` (list of L+1 matrices), ``b`` (list of L+1 vectors), and with
        BN ``g`` (list of L vectors).
    """
    W, b = [], []
    for fan_in, fan_out in zip(layer_sizes[:-1], layer_sizes[1:], strict=True):
        bound = np.sqrt(6.0 / (fan_in + fan_out))
        W.append(random_state.uniform(-bound, bound, (fan_in, fan_out)))
        b.append(np.zeros(fan_out))
    params = {"W": W, "b": b}
    if bn:
        params["g"] = [np.ones(n) for n in layer_sizes[1:-1]]
    return params


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
            mu = sigma = Z = None
            P = H + b[layer]
        A_prev = A
        A = _act(P, activation)
        cache.append((A_prev, Z, sigma, P, A, mu))
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
    gW = [None] * (L + 1)
    gb = [None] * (L + 1)
    gg = [None] * L if g is not None else None
    A_last = cache[-1][4] if L else X
    gW[L] = np.asarray(A_last.T @ dO) + alpha * W[L]
    gb[L] = dO.sum(axis=0)
    dA = dO @ W[L].T
    for layer in range(L - 1, -1, -1):
        A_prev, Z, sigma, P, A, mu = cache[layer]
        dP = dA * _act_grad(P, A, activation)
        gb[layer] = dP.sum(axis=0)
        if g is not None:
            gg[layer] = np.sum(dP * Z, axis=0)
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
