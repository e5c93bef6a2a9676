"""
Arora, Li and Lyu (2019): auto rate-tuning by Batch Normalization
=================================================================

In the Batch Normalization (BN) parametrisation ``w~ = g w / ||w||_S`` the
objective does not depend on the length of ``w``, so its gradient is
orthogonal to ``w`` and a gradient step can only make ``||w||`` grow:
``||w_{t+1}||^2 = ||w_t||^2 + eta^2 ||grad_w f||^2``. The step that acts on
the direction is the *effective* step ``eta / ||w_t||^2``. Arora, Li and Lyu
prove that with a direction step ``eta`` fixed in advance (never tuned),
gradient descent still drives ``min_{t<=T} ||grad f(t)||`` to zero at the
rate ``T^{-1/2}`` of well-tuned gradient descent (up to logarithms): a step
that is too large makes the iterates bounce, the bouncing makes ``||w||``
grow, and the growth brings the effective step into the stable range.

This example runs :class:`~skbnorm.NormalizedLinearRegression` and
:class:`~skbnorm.NormalizedLogisticRegression` with ``solver="bn"``, a fixed
direction step ``learning_rate`` in ``{0.3, 10, 100}`` and the automatic
scale step (``learning_rate_scale="auto"``: the scale ``g`` is a scale-variant
parameter, which the theorem lets us tune), and plots

* ``min_{t<=T} ||grad f||`` against ``T`` (``grad_norm_curve_``, the gradient
  in ``(coef_, intercept_)``, which does not depend on ``||w||``), with a
  reference ``c T^{-1/2}``;
* the growth of ``||w_t||_2`` (``direction_norm_curve_``);
* the effective step ``eta / ||w_t||^2``.

Every run has a fixed budget and ``tol=0``, so the ``max_iter`` warnings are
expected and suppressed. Set ``SKBNORM_EXAMPLE_SIZE=small`` for a quick run.
"""

# %%
# Two problems
# ------------
# Least squares with a covariance of condition number 100, and logistic
# regression on two Gaussian classes (not linearly separable, so the
# optimum is finite). ``L_f = sup|l''| lambda_max(S)`` is the smoothness
# constant of the objective in the coefficients (``sup|l''|`` is 1 for least
# squares, 1/4 for the logistic loss); gradient descent on the coefficients
# is stable for steps below ``2/L_f``.

import os
import warnings

import matplotlib.pyplot as plt
import numpy as np
from scipy.special import expit
from sklearn.exceptions import ConvergenceWarning

from skbnorm import NormalizedLinearRegression, NormalizedLogisticRegression
from skbnorm.datasets import make_gaussian_halfspace, make_ols_problem

SIZE = os.environ.get("SKBNORM_EXAMPLE_SIZE", "full")
if SIZE not in ("full", "small"):
    raise ValueError(f"SKBNORM_EXAMPLE_SIZE must be 'full' or 'small'; got {SIZE!r}")
SMALL = SIZE == "small"

T_MAX = 300 if SMALL else 5000  # iterations per run
ETAS = (0.3, 10.0, 100.0)
REL_FLOOR = 1e-10  # min-grad below REL_FLOOR * its start: rounding level

PROBLEMS = {
    "least squares": (
        NormalizedLinearRegression, 1.0,
        make_ols_problem(300 if SMALL else 1000, 10, condition_number=100.0,
                         random_state=0)),
    "logistic": (
        NormalizedLogisticRegression, 0.25,
        make_gaussian_halfspace(300 if SMALL else 2000, 10, condition_number=10.0,
                                separation=0.5, random_state=0)),
}


def fit(Est, X, y, eta):
    # the papers' setting: no penalty (C=np.inf for the classifier)
    penalty = {"C": np.inf} if Est is NormalizedLogisticRegression else {}
    est = Est(solver="bn", learning_rate=eta, learning_rate_scale="auto",
              max_iter=T_MAX, tol=0.0, random_state=0, **penalty)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)  # budget-limited
        return est.fit(X, y)


runs = {name: {eta: fit(Est, X, y, eta) for eta in ETAS}
        for name, (Est, _, (X, y)) in PROBLEMS.items()}

# %%
# ``min ||grad f||`` against ``T``
# --------------------------------
# We fit the slope of ``log min_{t<=T} ||grad f||`` against ``log T`` over
# the last decade of iterations before the minimum reaches rounding level
# (``1e-10`` times its start) or the budget ends. Arora et al.'s bound is a
# worst case for smooth non-convex objectives, so any slope at or below
# ``-1/2`` is consistent with it; these two objectives are convex, where
# gradient descent can be faster.


def tail_slope(min_grad):
    """Slope of log min-grad vs log T over the last decade before the floor."""
    T = np.arange(1, len(min_grad) + 1)
    hit = np.flatnonzero(min_grad <= REL_FLOOR * min_grad[0])
    end = hit[0] + 1 if hit.size else len(min_grad)
    start = max(end // 10, 1)
    if end - start < 5:
        return np.nan, start, end
    sl = slice(start - 1, end)
    return np.polyfit(np.log(T[sl]), np.log(min_grad[sl]), 1)[0], start, end


fig, axes = plt.subplots(1, 2, figsize=(10, 4))
print(f"budget T = {T_MAX} iterations, learning_rate_scale='auto'")
for ax, (name, per_eta) in zip(axes, runs.items(), strict=True):
    c = 0.0
    for eta, est in per_eta.items():
        min_grad = np.minimum.accumulate(est.grad_norm_curve_)
        T = np.arange(1, len(min_grad) + 1)
        ax.loglog(T, min_grad, label=f"eta = {eta:g}")
        c = max(c, min_grad[0])
        slope, start, end = tail_slope(min_grad)
        if np.isnan(slope):
            verdict = "too few iterations before rounding level to fit a slope"
        elif slope <= -0.5:
            verdict = "at least as fast as T^-1/2"
        else:
            verdict = "SLOWER than T^-1/2 over this window"
        reached = np.flatnonzero(min_grad <= 1e-6)
        t_reach = (f"reaches 1e-6 at T={reached[0] + 1}" if reached.size
                   else f"does not reach 1e-6 within {T_MAX}")
        print(f"{name:>13}, eta={eta:>5g}: min ||grad|| = {min_grad[0]:.2e} (T=1), "
              f"{min_grad[-1]:.2e} (T={len(min_grad)}); {t_reach}; "
              f"slope over T in [{start}, {end}]: {slope:.2f} -> {verdict}")
    T = np.arange(1, T_MAX + 1)
    ax.loglog(T, c / np.sqrt(T), "k--", lw=1, label="c T^(-1/2)")
    ax.set_title(f"{name}: bn with a fixed direction step", fontsize=9)
    ax.set_xlabel("T (iterates evaluated)")
    ax.set_ylim(bottom=1e-17)
    ax.legend(fontsize=8)
axes[0].set_ylabel("min_{t<=T} ||grad f||")
fig.tight_layout()

# %%
# The growth of ``||w_t||`` and the effective step
# ------------------------------------------------
# The step that the direction update induces on the coefficients is
# ``h_t = eta g_t^2/||w_t||_S^2 = eta ||coef_t||^2/||w_t||^2`` (because
# ``coef = g w/||w||_S``): it moves ``coef`` by ``-h_t P^T P G`` with ``G``
# the gradient in ``coef``, ``P = I - S u u^T`` and ``u = coef/||coef||_S``.
# Near the optimum this is stable iff ``h lambda_dir < 2`` with
# ``lambda_dir = lambda_max(P^T P H)``, ``H`` the Hessian of the objective in
# ``coef``; ``lambda_dir`` may differ from ``L_f`` because the direction step
# never moves ``coef`` along itself and ``P`` is an oblique projection. We
# compute ``H`` and ``P`` at the final coefficients with NumPy and compare the
# final ``h`` with both ``2/L_f`` and ``2/lambda_dir``. In the units of the
# plotted ``eta/||w_t||^2``, these limits are ``2/(L_f ||coef||^2)`` and
# ``2/(lambda_dir ||coef||^2)``.


def stability_limits(est, X, y, sup_curvature):
    """``L_f`` and ``lambda_dir`` at the fitted coefficients."""
    coef = np.ravel(est.coef_)
    Xc = X - X.mean(axis=0)
    S = Xc.T @ Xc / len(X)
    if sup_curvature == 1.0:  # least squares: H = S
        H = S
    else:  # logistic: the curvature of the loss at the fitted margins
        p = expit(X @ coef + np.ravel(est.intercept_)[0])
        H = Xc.T @ (Xc * (p * (1 - p))[:, None]) / len(X)
    u = coef / np.sqrt(coef @ S @ coef)
    P = np.eye(len(coef)) - np.outer(S @ u, u)
    evals, evecs = np.linalg.eigh(H)
    H_half = (evecs * np.sqrt(np.clip(evals, 0, None))) @ evecs.T
    lam_dir = np.linalg.eigvalsh(H_half @ P.T @ P @ H_half).max()
    return sup_curvature * est.lipschitz_, lam_dir


fig, axes = plt.subplots(2, 2, figsize=(10, 7), sharex=True)
print()
summary = []
for col, (name, per_eta) in enumerate(runs.items()):
    Est, sup_curv, (X, y) = PROBLEMS[name]
    best = min(per_eta.values(), key=lambda e: e.grad_norm_curve_[-1])
    L_f, lam_dir = stability_limits(best, X, y, sup_curv)
    coef_sq = float(np.sum(np.ravel(best.coef_) ** 2))
    print(f"{name}: L_f = {L_f:.4g} (2/L_f = {2 / L_f:.4g}), lambda_dir = "
          f"{lam_dir:.4g} (2/lambda_dir = {2 / lam_dir:.4g})")
    for eta, est in per_eta.items():
        w = est.direction_norm_curve_
        T = np.arange(1, len(w) + 1)
        axes[0, col].loglog(T, w, label=f"eta = {eta:g}")
        axes[1, col].loglog(T, eta / w**2, label=f"eta = {eta:g}")
        L_f_run, lam_run = stability_limits(est, X, y, sup_curv)
        h = eta * float(np.sum(np.ravel(est.coef_) ** 2)) / w[-1] ** 2
        below_f, below_dir = h < 2 / L_f_run, h < 2 / lam_run
        summary.append((name, eta, below_f, below_dir, (2 / lam_run) / h))
        print(f"  eta={eta:>5g}: ||w|| {w[0]:.3g} -> {w[1]:.4g} (t=1) -> {w[-1]:.4g} "
              f"(x{w[-1] / w[0]:.3g}); eta/||w_T||^2 = {eta / w[-1] ** 2:.3g}; "
              f"induced step h_T = {h:.4g}: "
              + ("below" if below_f else "ABOVE") + f" 2/L_f = {2 / L_f_run:.4g}, "
              + ("below" if below_dir else "ABOVE")
              + f" 2/lambda_dir = {2 / lam_run:.4g}; final ||grad|| = "
              f"{est.grad_norm_curve_[-1]:.2e}")
    axes[0, col].legend(fontsize=8)
    axes[1, col].axhline(2 / (L_f * coef_sq), color="k", ls=":",
                         label="2/(L_f ||coef||^2)")
    axes[1, col].axhline(2 / (lam_dir * coef_sq), color="k", ls="--",
                         label="2/(lambda_dir ||coef||^2)")
    axes[1, col].legend(fontsize=8)
    axes[0, col].set_title(f"{name}: ||w_t||_2", fontsize=9)
    axes[1, col].set_title(f"{name}: effective step eta/||w_t||^2 "
                           "(limits at the final coef)", fontsize=9)
    axes[1, col].set_xlabel("t + 1 (iterate t, log scale)")
fig.tight_layout()

# %%
# Summary
# -------
# The printout states, for every run, whether the self-tuned step ended
# below gd's limit ``2/L_f`` and below the direction dynamics' own limit
# ``2/lambda_dir``.

n_f = sum(s[2] for s in summary)
n_dir = sum(s[3] for s in summary)
print(f"\nthe induced step ended below 2/L_f in {n_f} of {len(summary)} runs "
      f"and below 2/lambda_dir in {n_dir} of {len(summary)}")
above_f = [f"{n} eta={e:g}" for n, e, bf, _, _ in summary if not bf]
if above_f:
    print("ended above 2/L_f (the global bound is not the limit that the "
          "self-tuning finds): " + ", ".join(above_f))
above_dir = [f"{n} eta={e:g}" for n, e, _, bd, _ in summary if not bd]
if above_dir:
    print("ended ABOVE the direction-stability limit 2/lambda_dir, against the "
          "auto rate-tuning picture: " + ", ".join(above_dir))
slow = [(n, e, r) for n, e, _, _, r in summary if r > 10]
for n, e, r in slow:
    print(f"{n} eta={e:g}: the first steps inflated ||w|| so much that the final "
          f"step is {r:.3g} times below 2/lambda_dir; ||w|| never shrinks, so "
          "this run stays slow -- the price of a too-large fixed eta")
