"""Kohler et al.'s Figure 3: the example runs, and what of its claim holds.

The paper (Section 5.3) trains a Batch Normalized network (bn) and an
unnormalized one (gd) by plain gradient descent and reports that (1) the
directional gradient of the central hidden layer depends far more on the
upstream than on the downstream layers, and (2) the downstream
cross-dependencies decay for bn but remain elevated for gd.

``test_claim_small_scale`` checks, on 200 digits rows with six tanh hidden
layers of 10 units (the cross-derivatives exact over a tangent basis of the
central layer, 200 full-batch steps of size 0.3), what held for each of the
ten initialisations 0-9 we measured on these rows (the test runs 0-2);
``down/up`` is the mean norm over the downstream layers over the mean over
the upstream layers:

* gd: ``down/up`` ends at 0.37-0.50, so the upstream layers dominate
  (asserted: below 2/3);
* bn: the downstream norms fall to 0.21-0.44 of their start (asserted:
  below 0.6), the decay the paper reports;
* ``down/up`` ends lower for gd than for bn (bn: 0.86-1.28).

What does not reproduce at this scale: claim (1) for bn, whose ``down/up``
ends at 0.86-1.28 (the upstream and downstream layers matter about equally;
the 6 x 50 networks of the example give bn 0.47-0.90), and claim (2)'s
"remain elevated" for gd as a contrast with bn: gd's downstream norms fall
too, to 0.19-0.91 of their start, and end lower relative to the upstream
layers than bn's (the third point above).
"""

import runpy
from pathlib import Path

import numpy as np
import pytest
from sklearn.datasets import load_digits
from sklearn.preprocessing import StandardScaler
from threadpoolctl import threadpool_limits

from skbnorm.mlp import cross_derivative_norms
from skbnorm.mlp._network import init_params, value_and_grad

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "plot_kohler_figure3.py"

N_ROWS = 200
HIDDEN = [10] * 6
CENTER = 3
STEP = 0.3
N_ITER = 200


def test_example_runs_small(monkeypatch):
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    monkeypatch.setenv("SKBNORM_EXAMPLE_SIZE", "small")
    monkeypatch.setenv("MPLBACKEND", "Agg")
    plt.close("all")
    try:
        runpy.run_path(str(EXAMPLE), run_name="__main__")
        assert plt.get_fignums(), "plot_kohler_figure3.py created no figure"
    finally:
        plt.close("all")


def _digits():
    X, y = load_digits(return_X_y=True)
    rows = np.random.RandomState(0).choice(X.shape[0], N_ROWS, replace=False)
    X = StandardScaler().fit_transform(X[rows])
    return X, (y[rows, None] == np.arange(10)).astype(float)


def _cross_at_start_and_end(X, Y, bn, seed):
    """Exact directional cross-derivative norms with the central layer,
    before and after ``N_ITER`` steps of full-batch gradient descent."""
    s = np.full(X.shape[0], 1.0 / X.shape[0])
    params = init_params([X.shape[1], *HIDDEN, Y.shape[1]], bn,
                         np.random.RandomState(seed))
    args = ("tanh", "log_loss", 0.0, s)
    start = cross_derivative_norms(X, Y, params, *args, CENTER)
    first = value_and_grad(X, Y, params, *args)[0]
    for _ in range(N_ITER):
        grad = value_and_grad(X, Y, params, *args)[1]
        params = {key: [p - STEP * g for p, g in zip(params[key], grad[key],
                                                     strict=True)]
                  for key in params}
    # the comparison means nothing unless both networks actually trained
    assert value_and_grad(X, Y, params, *args)[0] < 0.1 * first
    return start, cross_derivative_norms(X, Y, params, *args, CENTER)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_claim_small_scale(seed):
    X, Y = _digits()
    down_over_up = {}
    with threadpool_limits(limits=1, user_api="blas"):
        for net in ("bn", "gd"):
            start, end = _cross_at_start_and_end(X, Y, net == "bn", seed)
            assert np.isnan(start[CENTER]) and np.isnan(end[CENTER])
            up, down = end[:CENTER].mean(), end[CENTER + 1:].mean()
            down_over_up[net] = down / up
            if net == "bn":
                assert down < 0.6 * start[CENTER + 1:].mean()
    assert down_over_up["gd"] < 2.0 / 3.0
    assert down_over_up["gd"] < down_over_up["bn"]
