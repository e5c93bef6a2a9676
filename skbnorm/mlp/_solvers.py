r"""Training steps of the MLP estimators.

Minibatch solvers (one call = one minibatch step):

* ``gd``: ``theta <- theta - eta * grad`` on every parameter of the
  unnormalized network;
* ``agd``: Nesterov's accelerated gradient in its momentum form
  (``v <- mu v - eta grad``, ``theta <- theta + mu v - eta grad``);
* ``bn`` / ``wn``: gradient descent on the normalized network with two
  steps: ``eta`` (``learning_rate``) on the hidden layers' directions ``W``
  and ``eta_g`` (``learning_rate_scale``) on everything else (scales,
  shifts, output layer), Cai et al.'s ``epsilon`` and ``epsilon_a``.

``gdnp`` (one call = one full-batch iteration) is Kohler et al.'s
Algorithm 2 extended past one hidden layer, see :func:`gdnp_iteration`.
"""

import numpy as np

from . import _kernels as K

#: Largest relative change ``||dw|| / ||w||`` of a unit's direction in one
#: GDNP step. The step ``eta sigma^2 / g^2`` grows without bound for a unit
#: whose best scale is near zero (a unit the loss does not use): its
#: direction is then free, and a capped step keeps it from jumping around.
GDNP_MAX_TURN = 0.5

#: Bound on the scales GDNP's search reaches. A unit's best scale can be
#: infinite: on (nearly) separable data the loss keeps falling as the unit
#: saturates into a step function. tanh(100 z) is a step for |z| > 0.03 of a
#: standard deviation, so the bound changes no prediction that matters; the
#: estimators warn when a scale ends on it.
GDNP_MAX_SCALE = 100.0

#: The scale search stops when a unit's ``|df/dg|`` has fallen by this factor.
#: 1e-4 would save 30% of the search's time, but then a fit depends on
#: rounding at the 1e-7 level (weighted rows against repeated rows differ,
#: where scikit-learn's sample-weight check asks for 1e-7): the search's end
#: point moves with where its tolerance test happens to trip.
GDNP_SCALE_RTOL = 1e-8

#: Smallest accepted layer step factor in GDNP's descent safeguard.
_MIN_FACTOR = 2.0 ** -10


def _axpy(params, grad, steps):
    """``params[key][l] -= steps(key, l) * grad[key][l]`` in place."""
    for key, mats in grad.items():
        for layer, G in enumerate(mats):
            params[key][layer] -= steps(key, layer) * G


class GradientDescent:
    """``gd`` / ``bn`` / ``wn``: one (two-step) gradient step per batch."""

    def __init__(self, params, eta, eta_scale, normalized):
        self.eta = eta
        self.eta_scale = eta_scale
        self.n_hidden = len(params["W"]) - 1
        self.normalized = normalized

    def _step(self, key, layer):
        if self.normalized and not (key == "W" and layer < self.n_hidden):
            return self.eta_scale
        return self.eta

    def update(self, params, grad):
        _axpy(params, grad, self._step)

    def shrink(self, factor):
        """Divide every step by ``factor`` (the adaptive schedule)."""
        self.eta /= factor
        self.eta_scale /= factor


class Nesterov:
    """``agd``: Nesterov momentum (Sutskever et al.'s form)."""

    def __init__(self, params, eta, momentum):
        self.eta = eta
        self.momentum = momentum
        self.velocity = {k: [np.zeros_like(M) for M in v]
                         for k, v in params.items()}

    def shrink(self, factor):
        """Divide the step by ``factor`` (the adaptive schedule)."""
        self.eta /= factor

    def update(self, params, grad):
        mu, eta = self.momentum, self.eta
        for key, mats in grad.items():
            for layer, G in enumerate(mats):
                v = self.velocity[key][layer]
                v *= mu
                v -= eta * G
                params[key][layer] += mu * v - eta * G


def last_layer_scale_step(net, X, Y, s, params, n_steps, rtol=GDNP_SCALE_RTOL):
    """Kohler et al.'s scale search on the last hidden layer, unit by unit.

    (Not the linear core's :func:`skbnorm.solvers._common.scale_search`,
    which searches the one scale of a linear model.)

    Runs :func:`skbnorm.mlp._kernels.last_layer_scale_search` from the
    training-mode forward pass of ``params``; returns the new scales of the
    last hidden layer and the decrease of the objective (``params`` is not
    modified).
    """
    O, cache = net.forward(X, params, s)
    last = cache[-1]
    g, decrease = K.last_layer_scale_search(
        last.norm.Z, last.outputs.copy(), O, params["W"][-1], params["b"][-2],
        params["g"][-1], Y, s, net.loss, net.act, net.alpha, n_steps,
        GDNP_MAX_SCALE, rtol,
    )
    return g.astype(params["g"][-1].dtype), decrease


def gdnp_iteration(net, X, Y, s, params, eta, eta_scale, n_bisection):
    r"""One full-batch GDNP iteration over a BN network.

    Kohler et al.'s Algorithm 2 trains the units of one hidden layer (whose
    output weights are fixed) one after another, each by GDNP
    (Algorithm 1): a search for the unit's best scale ``g``, then a
    directional step on ``w`` with the adaptive step size. Our extension to
    ``L`` hidden layers, with the output layer and the shifts trained too:

    1. Directional steps, layer by layer from the input to the output
       (Kohler's Lemma 2: a layer's best direction depends on what flows
       into it, not on the layers after it). Every unit ``j`` of the layer
       moves by ``w_j <- w_j - eta sigma_j^2 / g_j^2 * grad_{w_j} f``, with
       ``sigma_j = ||w_j||_S`` the unit's batch standard deviation: the
       adaptive step of Kohler's Theorem 1
       (``eta_t = w^T S w / (2 L |rho(w)|)``, where at the best scale
       ``|rho(w)| = g^2``). In the normalized weights
       ``w~ = g w / ||w||_S`` it is a gradient step of length ``eta`` on the
       direction, whatever ``||w||`` and ``g``; ``eta`` plays ``1/(2L)``.
       The relative change of a unit is capped at :data:`GDNP_MAX_TURN`
       and the layer's step is halved until the objective decreases (at
       most ten times; otherwise skipped).
    2. The scale search, exactly as Algorithm 2 on the last hidden layer
       (the units that feed the output): unit by unit, bisection on
       ``df/dg_j`` (:func:`last_layer_scale_step`, false position in place of
       bisection). Each trial there costs
       ``O(n k)``; in an earlier layer it would cost a pass through every
       layer after it, per unit and per halving, so those layers' scales
       instead take the gradient step of 3.
    3. One gradient step of size ``eta_scale`` on the shifts, the output
       layer and the scales of the earlier hidden layers, halved likewise
       until the objective decreases.

    The objective therefore never increases from one iteration to the next.

    Returns
    -------
    value : float
        The objective after the iteration.
    """
    L = len(params["W"]) - 1
    f = net.value(X, Y, s, params)
    for layer in range(L):
        _, grad, cache = net.loss_grad(X, Y, s, params, return_cache=True)
        sigma = cache[layer].norm.sigma
        W = params["W"][layer]
        gW = grad["W"][layer]
        g2 = np.maximum(params["g"][layer].astype(np.float64) ** 2, 1e-12)
        step = eta * sigma * sigma / g2
        w_norm = np.sqrt(np.sum(W * W, axis=0))
        g_norm = np.sqrt(np.sum(gW * gW, axis=0))
        # the cap: ||step * gW_j|| <= GDNP_MAX_TURN * ||w_j||
        cap = np.divide(GDNP_MAX_TURN * w_norm, g_norm,
                        out=np.full_like(w_norm, np.inf), where=g_norm > 0)
        step = np.minimum(step, cap)
        f = _descend(net, X, Y, s, params, f,
                     lambda p, t, gW=gW, W=W, step=step, layer=layer:
                     p["W"].__setitem__(
                         layer, (W - (t * step) * gW).astype(W.dtype)))
    if L:
        params["g"][-1], decrease = last_layer_scale_step(net, X, Y, s, params,
                                                          n_bisection)
        f -= decrease  # each unit's move was accepted only if it lowered f
    _, grad = net.loss_grad(X, Y, s, params)
    moved = [("b", layer) for layer in range(L + 1)] + [("W", L)] + [
        ("g", layer) for layer in range(L - 1)]
    old = {key: params[key[0]][key[1]].copy() for key in moved}

    def move(p, t):
        for key, layer in moved:
            M = old[key, layer]
            p[key][layer] = (M - (t * eta_scale) * grad[key][layer]).astype(M.dtype)

    return _descend(net, X, Y, s, params, f, move)


def _descend(net, X, Y, s, params, f, move):
    """Apply ``move(params, t)`` for ``t = 1, 1/2, ...`` until the objective
    is below ``f``; restore the entry state (``t = 0``) if it never is."""
    t = 1.0
    while t >= _MIN_FACTOR:
        move(params, t)
        f_new = net.value(X, Y, s, params)
        if np.isfinite(f_new) and f_new < f:
            return f_new
        t *= 0.5
    move(params, 0.0)
    return f
