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

import numpy as np

from . import _kernels as K

LOSS_CODES = {"squared": 0, "binary_log_loss": 1, "log_loss": 2}
ACT_CODES = {"tanh": K.TANH, "relu": K.RELU}


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
        self.loss = LOSS_CODES[loss]
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
                return A, (Z, sigma, mu)
            mu, sigma = stats[layer]
            return K.bn_apply(H, mu, sigma, g, b, self.act), None
        if self.norm == "wn":
            norms = np.sqrt(np.sum(W * W, axis=0))
            c = params["g"][layer] / np.where(norms > 0, norms, 1.0)
        else:
            norms = None
            c = np.ones(W.shape[1], dtype=W.dtype)
        c = c.astype(H.dtype, copy=False)
        return K.scale_forward(H, c, b, self.act), (H, c, norms)

    def forward(self, X, params, s=None, stats=None):
        """Output block and per-layer cache; BN uses the batch statistics of
        ``X`` under weights ``s`` unless ``stats`` (per layer ``(mu,
        sigma)``) are given."""
        W = params["W"]
        A = X
        cache = []
        for layer in range(len(W) - 1):
            A_next, extra = self._hidden_forward(layer, A, params, s, stats)
            cache.append((A, A_next, extra))
            A = A_next
        O = _matmul(A, W[-1]) + params["b"][-1]
        return O, cache

    def batch_stats(self, X, params, s):
        """The BN statistics of every hidden layer over ``X`` (weights
        ``s``): with the whole training set, the population statistics."""
        _, cache = self.forward(X, params, s)
        return [(extra[2], extra[1]) for _, _, extra in cache]

    def _hidden_backward(self, layer, dA, cache_l, params, s, grad):
        A_prev, A, extra = cache_l
        W = params["W"][layer]
        if self.norm == "bn":
            Z, sigma, _ = extra
            dH, gg, gb = K.bn_backward(dA, A, Z, sigma, params["g"][layer], s,
                                       self.act)
            gW = np.asarray(A_prev.T @ dH)
            grad["g"][layer] = gg + self.alpha * params["g"][layer]
        else:
            H, c, norms = extra
            dH, gc, gb = K.scale_backward(dA, A, H, c, self.act)
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
        A_last = cache[-1][1] if L else X
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
