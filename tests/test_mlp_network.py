"""The BN MLP's full gradient (all parameters, training-mode batch statistics)
against central finite differences."""

import numpy as np
import pytest
import scipy.sparse as sp

from skbnorm.mlp._network import forward, init_params, value_and_grad


def _flat(params):
    return [a for key in sorted(params) for a in params[key]]


@pytest.mark.parametrize("bn", [True, False])
@pytest.mark.parametrize("activation", ["tanh", "relu"])
@pytest.mark.parametrize("loss", ["log_loss", "squared"])
def test_gradient_matches_finite_differences(bn, activation, loss):
    rng = np.random.RandomState(0)
    n, d, k = 12, 4, 3
    X = rng.randn(n, d)
    if loss == "log_loss":
        Y = np.eye(k)[rng.randint(0, k, n)]
    else:
        Y = rng.randn(n, k)
    s = rng.uniform(0.5, 1.5, n)
    s /= s.sum()
    params = init_params([d, 5, 4, k], bn, rng)
    # non-zero shifts: with zero biases a relu row whose units are all off
    # gives a pre-activation of exactly 0, a kink finite differences straddle
    params["b"] = [rng.randn(v.size) * 0.3 for v in params["b"]]
    if bn:  # non-trivial scales
        params["g"] = [rng.uniform(0.5, 1.5, v.size) for v in params["g"]]
    alpha = 0.1
    _, grad = value_and_grad(X, Y, params, activation, loss, alpha, s)
    h = 1e-6
    for p, gp in zip(_flat(params), _flat(grad), strict=True):
        num = np.zeros_like(p)
        for idx in np.ndindex(p.shape):
            old = p[idx]
            p[idx] = old + h
            fp, _ = value_and_grad(X, Y, params, activation, loss, alpha, s)
            p[idx] = old - h
            fm, _ = value_and_grad(X, Y, params, activation, loss, alpha, s)
            p[idx] = old
            num[idx] = (fp - fm) / (2 * h)
        np.testing.assert_allclose(gp, num, rtol=1e-5, atol=1e-8)


def test_bn_network_is_invariant_to_column_scaling_of_hidden_weights():
    rng = np.random.RandomState(1)
    X = rng.randn(20, 3)
    s = np.full(20, 1 / 20)
    params = init_params([3, 6, 5, 2], True, rng)
    O, _ = forward(X, params, "tanh", s)
    params["W"][0] = params["W"][0] * rng.uniform(0.1, 10, 6)
    params["W"][1] = params["W"][1] * rng.uniform(0.1, 10, 5)
    O2, _ = forward(X, params, "tanh", s)
    np.testing.assert_allclose(O2, O, rtol=1e-10, atol=1e-12)


def test_sparse_first_layer_gives_the_dense_gradient():
    rng = np.random.RandomState(2)
    X = sp.random(15, 6, density=0.5, random_state=rng, format="csr")
    Y = np.eye(2)[rng.randint(0, 2, 15)]
    s = np.full(15, 1 / 15)
    params = init_params([6, 4, 2], True, rng)
    vs, gs = value_and_grad(X, Y, params, "tanh", "log_loss", 0.0, s)
    vd, gd = value_and_grad(X.toarray(), Y, params, "tanh", "log_loss", 0.0, s)
    assert vs == pytest.approx(vd, rel=1e-13)
    for a, b in zip(_flat(gs), _flat(gd), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("bn", [True, False])
def test_cross_derivative_norms_match_second_differences_of_the_objective(bn):
    # independent of the backward pass: the Hessian block from four-point
    # differences of the objective's value, projected on the directional
    # components of both layers
    from skbnorm.mlp import cross_derivative_norms
    from skbnorm.mlp._network import _tangent

    rng = np.random.RandomState(3)
    n, d = 10, 3
    X = rng.randn(n, d)
    Y = np.eye(2)[rng.randint(0, 2, n)]
    s = np.full(n, 1 / n)
    params = init_params([d, 3, 3, 3, 2], bn, rng)
    params["b"] = [rng.randn(v.size) * 0.3 for v in params["b"]]
    center = 1

    def f():
        return value_and_grad(X, Y, params, "tanh", "log_loss", 0.0, s)[0]

    def projector(W):
        cols = []
        for k in range(W.size):
            E = np.zeros(W.size)
            E[k] = 1.0
            cols.append(_tangent(W, E.reshape(W.shape)).ravel())
        return np.array(cols).T

    Wc = params["W"][center]
    h = 1e-4
    exact = cross_derivative_norms(X, Y, params, "tanh", "log_loss", 0.0, s,
                                   center)
    probed = cross_derivative_norms(X, Y, params, "tanh", "log_loss", 0.0, s,
                                    center, n_probes=3000, random_state=0)
    for layer in (0, 2):
        Wl = params["W"][layer]
        H = np.zeros((Wl.size, Wc.size))
        for a in range(Wl.size):
            for b in range(Wc.size):
                ia, ib = np.unravel_index(a, Wl.shape), np.unravel_index(b, Wc.shape)
                vals = []
                for sa, sb in ((1, 1), (1, -1), (-1, 1), (-1, -1)):
                    Wl[ia] += sa * h
                    Wc[ib] += sb * h
                    vals.append(f())
                    Wl[ia] -= sa * h
                    Wc[ib] -= sb * h
                H[a, b] = (vals[0] - vals[1] - vals[2] + vals[3]) / (4 * h * h)
        ref = np.linalg.norm(projector(Wl) @ H @ projector(Wc))
        assert ref > 0
        np.testing.assert_allclose(exact[layer], ref, rtol=1e-4)
        np.testing.assert_allclose(probed[layer], ref, rtol=0.1)
    assert np.isnan(exact[center])
