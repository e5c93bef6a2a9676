"""The Cai / Arora / user's-view examples run, and Cai et al.'s claim holds.

(a) Each example runs in-process at ``SKBNORM_EXAMPLE_SIZE=small`` and draws
at least one figure.

(b) Cai, Li and Shen (2019) on a small least-squares problem: bn converges
for every direction step ``eps`` in ``{1e-2, 1, 1e2, 1e3}`` (scale step
``eps_a`` of 1 or 0.5), while gd diverges with ``learning_rate = 2.5/L`` and
converges with ``1.9/L``. The budgets were measured on this problem (seed
0): to reach a relative suboptimality of ``1e-6``, bn needs 1585, 30, 1372
and 13699 steps for ``eps = 1e-2, 1, 1e2, 1e3`` with ``eps_a = 1`` (1585,
30, 1373, 13699 with ``eps_a = 0.5``) and gd at ``1.9/L`` needs 64; the
budgets below leave margins of about 1.5x and 3x.

All of them are marked ``needs_jit``: as pure Python they take minutes.
"""

import runpy
import warnings
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("matplotlib")

import matplotlib  # noqa: E402

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
from sklearn.exceptions import ConvergenceWarning  # noqa: E402
from sklearn.linear_model import LinearRegression  # noqa: E402

from skbnorm import NormalizedLinearRegression  # noqa: E402
from skbnorm.datasets import make_ols_problem  # noqa: E402

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


@pytest.mark.needs_jit
@pytest.mark.parametrize("name", [
    "plot_cai_learning_rate_sweep.py",
    "plot_arora_auto_rate_tuning.py",
    "plot_user_view.py",
])
def test_example_runs_small(name, monkeypatch):
    monkeypatch.setenv("SKBNORM_EXAMPLE_SIZE", "small")
    plt.close("all")
    try:
        runpy.run_path(str(EXAMPLES / name), run_name="__main__")
        assert len(plt.get_fignums()) >= 1
    finally:
        plt.close("all")


BN_BUDGET = 20_000  # measured need: at most 13699 steps (eps = 1e3)
GD_BUDGET = 200  # measured need at 1.9/L: 64 steps
RTOL = 1e-6  # relative suboptimality (f_T - f*)/(f_0 - f*)


@pytest.fixture(scope="module")
def ols():
    X, y = make_ols_problem(200, 5, condition_number=10.0, random_state=0)
    residual = y - LinearRegression().fit(X, y).predict(X)
    fstar = 0.5 * np.mean(residual**2)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)  # max_iter=1
        L = NormalizedLinearRegression(solver="gd", max_iter=1).fit(X, y).lipschitz_
    return X, y, fstar, L


def _relative_suboptimality(est, fstar):
    f = est.loss_curve_
    return (f[-1] - fstar) / (f[0] - fstar)


def _fit_recording(est, X, y):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ConvergenceWarning)
        est.fit(X, y)
    return [str(w.message) for w in caught
            if issubclass(w.category, ConvergenceWarning)]


@pytest.mark.needs_jit
@pytest.mark.parametrize("eps_a", [1.0, 0.5])
@pytest.mark.parametrize("eps", [1e-2, 1.0, 1e2, 1e3])
def test_bn_converges_for_any_direction_step(ols, eps, eps_a):
    X, y, fstar, _ = ols
    est = NormalizedLinearRegression(solver="bn", learning_rate=eps,
                                     learning_rate_scale=eps_a,
                                     max_iter=BN_BUDGET + 1, tol=0.0,
                                     random_state=0)
    messages = _fit_recording(est, X, y)  # tol=0: the max_iter warning only
    assert not any("diverged" in m for m in messages), messages
    assert est.n_iter_ == BN_BUDGET + 1
    assert _relative_suboptimality(est, fstar) <= RTOL
    # the objective never rises above its start on the way
    assert est.loss_curve_.max() <= est.loss_curve_[0]


@pytest.mark.needs_jit
def test_gd_diverges_above_two_over_L(ols):
    X, y, _, L = ols
    est = NormalizedLinearRegression(solver="gd", learning_rate=2.5 / L,
                                     max_iter=GD_BUDGET, tol=0.0, random_state=0)
    with pytest.warns(ConvergenceWarning, match="diverged"):
        est.fit(X, y)
    f = est.loss_curve_
    assert f.max() > f[0] and f[-1] > f[0]
    # the best iterate is returned, finite
    assert np.all(np.isfinite(est.coef_)) and np.isfinite(est.intercept_)


@pytest.mark.needs_jit
def test_gd_converges_below_two_over_L(ols):
    X, y, fstar, L = ols
    est = NormalizedLinearRegression(solver="gd", learning_rate=1.9 / L,
                                     max_iter=GD_BUDGET + 1, tol=0.0,
                                     random_state=0)
    messages = _fit_recording(est, X, y)
    assert not any("diverged" in m for m in messages), messages
    assert _relative_suboptimality(est, fstar) <= RTOL
    assert est.loss_curve_.max() <= est.loss_curve_[0]
