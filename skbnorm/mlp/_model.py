r"""The estimators' network: forward and backward passes on the kernels.

The same network as :mod:`skbnorm.mlp._network` (its NumPy reference twin,
which the tests compare it with), in three parametrisations of a hidden
unit's pre-activation ``p = a^T w`` (``a``: the unit's input):

* ``norm=None``: ``p = a^T w + b``;
* ``norm="bn"``: ``p = g (a^T w - mean) / std + b`` with the batch's
  (sample-weighted) mean and standard deviation in training, fixed
  statistics in prediction;
* ``norm="wn"``: ``p = g a^T w / ||w|| + b`` (weight normalization).

The matrix products go to BLAS (or scipy for a sparse first layer), the
work between them to the fused kernels of :mod:`skbnorm.mlp._kernels`.
Parameters are a dict of lists, ``W`` and ``b`` for every layer and ``g``
for the hidden layers of a normalized network.

Penalty ``alpha/2 * sum ||.||^2`` over the parameters that set the size of
the effective weights: every ``W`` without normalization; the scales ``g``
and the output layer's ``W`` with BN or WN (the hidden ``W`` are then scale
invariant: their norm is not a degree of freedom of the function). With WN
this is exactly the penalty on the effective weights ``g w / ||w||``.
"""

from typing import NamedTuple

import numpy as np

from . import _kernels as K

#: the output layer's losses, by the kernels' codes (not the linear core's
#: margin losses of :mod:`skbnorm.objectives`: these act on output blocks)
OUTPUT_LOSS_CODES = {"squared": K.SQUARED_ERROR,
                     "binary_log_loss": K.BINARY_LOG_LOSS,
                     "log_loss": K.SOFTMAX_LOG_LOSS}
ACT_CODES = {"tanh": K.TANH, "relu": K.RELU}


class BNCache(NamedTuple):
    """What a BN layer's backward pass needs from its forward pass."""

    #: the normalized pre-activations ``(H - mu) / sigma``
    Z: np.ndarray
    #: the batch's standard deviation of each unit
    sigma: np.ndarray
    #: the batch's mean of each unit
    mu: np.ndarray


class ScaleCache(NamedTuple):
    """What an unnormalized or WN layer's backward pass needs."""

    #: the pre-activations ``A_prev W`` before the scales
    H: np.ndarray
    #: the per-unit factors (``g / ||w||`` with WN, ones without)
    c: np.ndarray
    #: ``||w||`` of each unit (WN), or None
    norms: object


class LayerCache(NamedTuple):
    """One hidden layer's record of a forward pass."""

    #: the layer's input activations
    inputs: object
    #: its output activations
    outputs: np.ndarray
    #: :class:`BNCache` or :class:`ScaleCache`
    norm: object


def init_params(layer_sizes, bn, random_state):
    """Glorot-uniform weights, unit BN scales, zero shifts and biases.

    Parameters
    ----------
    layer_sizes : sequence of int
        ``[n_features, hidden_1, ..., hidden_L, n_outputs]``.
    bn : bool
        Whether the hidden layers have scales ``g`` (BN or WN).
    random_state : numpy.random.RandomState
        The source of the weights.

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


def _matmul(A, W):
    return np.ascontiguousarray(A @ W)


class Network:
    """Loss and gradient of a fully connected network.

    Parameters
    ----------
    norm : {None, "bn", "wn"}
    activation : {"tanh", "relu"}
    loss : {"squared", "binary_log_loss", "log_loss"}
    alpha : float
        Penalty coefficient (the estimators divide their ``alpha`` by the
        step's total sample weight, as scikit-learn's MLP does by the
        batch's); an attribute the caller may change between steps.
    """

    def __init__(self, norm, activation, loss, alpha):
        self.norm = norm
        self.act = ACT_CODES[activation]
        self.loss = OUTPUT_LOSS_CODES[loss]
        self.alpha = alpha

    # -- pieces ------------------------------------------------------------

    def _penalty(self, params):
        W = params["W"]
        mats = W if self.norm is None else [W[-1], *params["g"]]
        return 0.5 * self.alpha * sum(float(np.sum(M * M)) for M in mats)

    def _hidden_forward(self, layer, A_prev, params, s, stats):
        """One hidden layer: returns its activations and what the backward
        pass needs."""
        W, b = params["W"][layer], params["b"][layer]
        H = _matmul(A_prev, W)
        if self.norm == "bn":
            g = params["g"][layer]
            if stats is None:
                Z, A, mu, sigma = K.bn_forward(H, s, g, b, self.act, K.BN_EPS)
                return A, BNCache(Z, sigma, mu)
            mu, sigma = stats[layer]
            return K.bn_apply(H, mu, sigma, g, b, self.act), None
        if self.norm == "wn":
            norms = np.sqrt(np.sum(W * W, axis=0))
            c = params["g"][layer] / np.where(norms > 0, norms, 1.0)
        else:
            norms = None
            c = np.ones(W.shape[1], dtype=W.dtype)
        c = c.astype(H.dtype, copy=False)
        return K.scale_forward(H, c, b, self.act), ScaleCache(H, c, norms)

    def forward(self, X, params, s=None, stats=None):
        """Output block and per-layer cache; BN uses the batch statistics of
        ``X`` under weights ``s`` unless ``stats`` (per layer ``(mu,
        sigma)``) are given."""
        W = params["W"]
        A = X
        cache = []
        for layer in range(len(W) - 1):
            A_next, extra = self._hidden_forward(layer, A, params, s, stats)
            cache.append(LayerCache(A, A_next, extra))
            A = A_next
        O = _matmul(A, W[-1]) + params["b"][-1]
        return O, cache

    def batch_stats(self, X, params, s):
        """The BN statistics of every hidden layer over ``X`` (weights
        ``s``): with the whole training set, the population statistics."""
        _, cache = self.forward(X, params, s)
        return [(layer.norm.mu, layer.norm.sigma) for layer in cache]

    def _hidden_backward(self, layer, dA, cache_l, params, s, grad):
        A_prev, A, extra = cache_l.inputs, cache_l.outputs, cache_l.norm
        W = params["W"][layer]
        if self.norm == "bn":
            dH, gg, gb = K.bn_backward(dA, A, extra.Z, extra.sigma,
                                       params["g"][layer], s, self.act)
            gW = np.asarray(A_prev.T @ dH)
            grad["g"][layer] = gg + self.alpha * params["g"][layer]
        else:
            norms = extra.norms
            dH, gc, gb = K.scale_backward(dA, A, extra.H, extra.c, self.act)
            gW = np.asarray(A_prev.T @ dH)
            if self.norm == "wn":
                safe = np.where(norms > 0, norms, 1.0)
                grad["g"][layer] = gc / safe + self.alpha * params["g"][layer]
                # only the direction of w matters: drop gW's radial part
                gW = gW - W * (np.sum(W * gW, axis=0) / (safe * safe))
            else:
                gW = gW + self.alpha * W
        grad["W"][layer] = gW
        grad["b"][layer] = gb
        return dH

    # -- the objective -----------------------------------------------------

    def loss_grad(self, X, Y, s, params, return_cache=False):
        """Objective (weighted loss + penalty) and its gradient (and the
        forward pass's cache).

        ``s``: sample weights summing to one over the rows of ``X``.
        """
        W = params["W"]
        L = len(W) - 1
        O, cache = self.forward(X, params, s)
        value, dO = K.output_loss(O, Y, s, self.loss)
        value += self._penalty(params)
        grad = {"W": [None] * (L + 1), "b": [None] * (L + 1)}
        if self.norm is not None:
            grad["g"] = [None] * L
        A_last = cache[-1].outputs if L else X
        grad["W"][L] = np.asarray(A_last.T @ dO) + self.alpha * W[L]
        grad["b"][L] = dO.sum(axis=0)
        dA = np.ascontiguousarray(dO @ W[L].T)
        for layer in range(L - 1, -1, -1):
            dH = self._hidden_backward(layer, dA, cache[layer], params, s, grad)
            if layer > 0:
                dA = np.ascontiguousarray(dH @ W[layer].T)
        if return_cache:
            return value, grad, cache
        return value, grad

    def value(self, X, Y, s, params):
        O, _ = self.forward(X, params, s)
        return K.output_loss(O, Y, s, self.loss)[0] + self._penalty(params)
