"""
Kohler et al. (2019), Figure 1: one optimal direction for three losses
=======================================================================

Kohler et al.'s Lemma 1 states that on Gaussian data every critical point of a
learning-halfspace objective ``f(w~) = E[phi(z^T w~)]``, ``z = -y x``, lies on
the line spanned by ``S^{-1} u`` (``S`` the covariance, ``u = E[z]``),
whatever the loss ``phi``: least squares, the softplus (logistic regression)
and the sigmoid share their optimal *direction* and differ only in the
optimal *scale*. Their Figure 1 shows that gradient descent (gd) in the
original coordinates is blind to this -- it takes a different path for each
loss -- while gradient descent in normalized parameters (gdnp), which
optimises the direction and the scale separately, follows the same
directional path for all three losses.

This example redraws the figure on 2-D Gaussian halfspace data with
:class:`~skbnorm.NormalizedLinearRegression` (least squares on the ``+-1``
labels) and :class:`~skbnorm.HalfspaceClassifier` (softplus and sigmoid),
records every iterate ``coef_`` with a scikit-learn callback, and measures how
close the gdnp directions of the three losses are.
"""

# %%
# Setup
# -----
#
# ``SKBNORM_EXAMPLE_SIZE=small`` shrinks the problem for the smoke tests. The
# data are centered and every estimator is fitted with ``fit_intercept=False``,
# the setting of the paper, so that ``S = E[x x^T]`` is the covariance.

import os
import warnings

import matplotlib.pyplot as plt
import numpy as np
from sklearn.exceptions import ConvergenceWarning

from skbnorm import HalfspaceClassifier, NormalizedLinearRegression
from skbnorm.datasets import make_gaussian_halfspace

SIZE = os.environ.get("SKBNORM_EXAMPLE_SIZE", "full")
if SIZE not in ("full", "small"):
    raise ValueError(f"SKBNORM_EXAMPLE_SIZE must be 'full' or 'small'; got {SIZE!r}")
SMALL = SIZE == "small"

N_SAMPLES = 500 if SMALL else 2000
GD_ITER = 400 if SMALL else 2000  # gd: small step, many iterations
GDNP_ITER = 100 if SMALL else 300
GDNP_LR = 0.05  # a small multiplier of gdnp's adaptive step ("sequential" gdnp)
GD_LR_FRACTION = 0.1  # gd's step is 0.1 / L_f, a tenth of the usual step
RANDOM_STATE = 0  # the same start direction for every loss and solver

X, y = make_gaussian_halfspace(N_SAMPLES, 2, condition_number=5.0,
                               separation=0.5, random_state=0)
X = X - X.mean(axis=0)
S = X.T @ X / N_SAMPLES
u = (-y[:, None] * X).mean(axis=0)
optimal_line = np.linalg.solve(S, u)  # S^{-1} u: Lemma 1's common direction
L = np.linalg.eigvalsh(S)[-1]

# sup |phi''| of each loss: gd's step 1/L_f with L_f = sup|phi''| * L
CURVATURE = {"least squares": 1.0, "softplus": 0.25,
             "sigmoid": 1.0 / (6.0 * np.sqrt(3.0))}
LOSSES = list(CURVATURE)


def objective(loss, W):
    """Objective at the rows of ``W`` (shape (m, 2)), in original coordinates."""
    margins = X @ W.T  # (n, m)
    if loss == "least squares":
        return 0.5 * np.mean((y[:, None] - margins) ** 2, axis=0)
    z_w = -y[:, None] * margins
    if loss == "softplus":
        return np.mean(np.logaddexp(0.0, z_w), axis=0)
    return np.mean(0.5 * (1.0 + np.tanh(0.5 * z_w)), axis=0)  # sigmoid


# %%
# Recording the iterates
# ----------------------
#
# A minimal callback following scikit-learn's callback protocol keeps a copy of
# ``coef_`` at the end of every iteration. The callback sees the iterate
# *after* each step (and the last one twice); the start is the ``coef_`` of a
# fit with ``max_iter=1``, which evaluates the start without stepping (for gdnp
# the start is already at the best scale of the initial direction).


class CoefRecorder:
    """Store ``coef_`` after every iteration of a fit."""

    def setup(self, estimator, context):
        self.coefs = []

    def on_fit_task_begin(self, estimator, context, **kwargs):
        pass

    def on_fit_task_end(self, estimator, context, *, fitted_estimator=None,
                        **kwargs):
        if context.task_name == "iteration":
            self.coefs.append(np.ravel(fitted_estimator.coef_).copy())
        return False  # never stop the fit

    def teardown(self, estimator, context):
        pass


def make_estimator(loss, **params):
    # the papers' setting: no penalty, no intercept, Kohler et al.'s step
    common = dict(fit_intercept=False, tol=0.0, random_state=RANDOM_STATE,
                  direction_step="paper")
    if loss == "least squares":
        return NormalizedLinearRegression(**common, **params)
    return HalfspaceClassifier(loss=loss, C=np.inf, **common, **params)


def record_path(loss, solver, learning_rate, max_iter):
    """The iterates ``w~_0, ..., w~_{n_iter - 1}`` and the fitted estimator."""
    with warnings.catch_warnings():
        # max_iter is reached on purpose, and the sigmoid's best scale is
        # infinite: gdnp warns that its scale search ended at its bound
        warnings.simplefilter("ignore", ConvergenceWarning)
        start = make_estimator(loss, solver=solver, learning_rate=learning_rate,
                               max_iter=1).fit(X, y)
        recorder = CoefRecorder()
        est = make_estimator(loss, solver=solver, learning_rate=learning_rate,
                             max_iter=max_iter)
        est.set_callbacks(recorder)
        est.fit(X, y)
    path = np.vstack([np.ravel(start.coef_)] + recorder.coefs[:-1])
    return path, est


paths = {}
fits = {}
for loss in LOSSES:
    paths["gd", loss], fits["gd", loss] = record_path(
        loss, "gd", GD_LR_FRACTION / (CURVATURE[loss] * L), GD_ITER)
    paths["gdnp", loss], fits["gdnp", loss] = record_path(
        loss, "gdnp", GDNP_LR, GDNP_ITER)
for (solver, loss), est in fits.items():
    w_last = paths[solver, loss][-1]
    print(f"{solver:>4}, {loss:>13}: {np.ravel(est.n_iter_)[0]:>4} iterations, "
          f"objective {est.loss_curve_[0]:.4f} -> {est.loss_curve_[-1]:.4f}, "
          f"gradient norm {est.grad_norm_curve_[-1]:.2e}, "
          f"scale ||w~||_S = {np.sqrt(w_last @ S @ w_last):.4g}")


# %%
# Level sets and paths
# --------------------
#
# Top row gd, bottom row gdnp, in the original coordinates ``w~``. The dotted
# red line is the span of ``S^{-1} u``; the star is the common start
# ``w~_0 = w_0`` with ``||w_0||_S = 1`` (gd starts there; gdnp first moves
# along the same ray to the best scale of that direction). On the gdnp panels
# the grey curve is the direction iterate ``w_t`` drawn at the scale of the
# start, ``||w~||_S = 1``: the path of Kohler et al.'s "sequential" gdnp,
# which first rotates the direction and only then rescales. The sigmoid has no
# finite optimum (its infimum is at an infinite scale), so its panels use the
# softplus window and its gdnp iterates leave it.


def s_normalise(P):
    """Rows of ``P`` rescaled to ``||w||_S = 1``."""
    return P / np.sqrt(np.einsum("ij,jk,ik->i", P, S, P))[:, None]


fig, axes = plt.subplots(2, 3, figsize=(12, 8), layout="constrained")
for j, loss in enumerate(LOSSES):
    window = "softplus" if loss == "sigmoid" else loss
    radius = 1.25 * np.abs(np.vstack([paths["gd", window],
                                      paths["gdnp", window]])).max()
    grid = np.linspace(-radius, radius, 60 if SMALL else 120)
    W1, W2 = np.meshgrid(grid, grid)
    F = objective(loss, np.column_stack([W1.ravel(), W2.ravel()]))
    for i, solver in enumerate(["gd", "gdnp"]):
        ax = axes[i, j]
        ax.contour(W1, W2, F.reshape(W1.shape), levels=25, cmap="viridis",
                   linewidths=0.8)
        ax.axline((0.0, 0.0), tuple(optimal_line), color="red", linestyle=":",
                  linewidth=1.5, label=r"span of $S^{-1}u$")
        P = paths[solver, loss]
        ax.plot(P[:, 0], P[:, 1], color="black", linewidth=1.5,
                label=f"{solver} iterates")
        ax.plot(*P[-1], "o", color="black")
        if solver == "gdnp":
            ax.plot(*np.vstack([paths["gd", loss][0], P[0]]).T, color="black",
                    linewidth=1.5)
            ax.plot(*s_normalise(P).T, color="0.45", linewidth=1.2,
                    label=r"direction $w_t$ at $\|\tilde w\|_S = 1$")
        ax.plot(*paths["gd", loss][0], "*", color="orange", markersize=12,
                label="start")
        ax.set_xlim(-radius, radius)
        ax.set_ylim(-radius, radius)
        ax.set_aspect("equal")
        ax.set_title(f"{solver}: {loss}")
axes[0, 0].legend(loc="lower left", fontsize=8)
axes[1, 0].legend(loc="lower left", fontsize=8)

# %%
# How close are the gdnp directions?
# ----------------------------------
#
# In two dimensions a direction is one angle, so the comparison is simple: the
# angle of each iterate to the optimal line, at equal iteration. Lemma 1 and
# the step of Theorem 2 (which on Gaussian data reproduces the least-squares
# step) predict the same angle for the three losses at every gdnp iteration.
# The "rotation phase" ends when the least-squares direction is within one
# degree of ``S^{-1} u``.


def angle(P):
    """Signed angle (degrees) of the rows of ``P`` to the optimal direction
    ``-S^{-1} u`` (the least-squares solution is ``-S^{-1} u``)."""
    ref = -optimal_line / np.linalg.norm(optimal_line)
    return np.degrees(np.arctan2(P[:, 1] * ref[0] - P[:, 0] * ref[1], P @ ref))


ang = {key: angle(P) for key, P in paths.items()}
n_gdnp = min(ang["gdnp", loss].size for loss in LOSSES)
ls_gdnp = ang["gdnp", "least squares"][:n_gdnp]
near = np.flatnonzero(np.abs(ls_gdnp) < 1.0)
phase = int(near[0]) if near.size else n_gdnp
print(f"start: {ls_gdnp[0]:.2f} degrees from the optimal line; the least-squares "
      f"gdnp direction is within 1 degree of it after {phase} iterations")
print("gdnp angle to -S^-1 u (degrees) at iteration t:")
print(f"{'t':>5} " + " ".join(f"{loss:>14}" for loss in LOSSES)
      + f" {'sigmoid scale':>14}")
sigmoid_scale = np.sqrt(np.einsum("ij,jk,ik->i", paths["gdnp", "sigmoid"], S,
                                  paths["gdnp", "sigmoid"]))
for t in [0, 5, 10, 15, 20, 30, 40, 60, 100, n_gdnp - 1]:
    if t < n_gdnp:
        print(f"{t:>5} " + " ".join(f"{ang['gdnp', loss][t]:>14.3f}"
                                     for loss in LOSSES)
              + f" {sigmoid_scale[t]:>14.4g}")

max_gap = {}
first_apart = {}
for loss in LOSSES[1:]:
    diff = np.abs(ang["gdnp", loss][:n_gdnp] - ls_gdnp)
    max_gap[loss] = diff[:phase].max()
    apart = np.flatnonzero(diff > 1.0)
    first_apart[loss] = int(apart[0]) if apart.size else None
    print(f"gdnp, {loss} vs least squares: max angle at equal iteration "
          f"{max_gap[loss]:.3f} degrees in the rotation phase, {diff.max():.3f} "
          "over the run; "
          + ("never more than 1 degree apart" if apart.size == 0 else
             f"first more than 1 degree apart at iteration {apart[0]}"))
gd_gap = {}
n_gd = min(ang["gd", loss].size for loss in LOSSES)
for loss in LOSSES[1:]:
    gd_gap[loss] = np.abs(ang["gd", loss][:n_gd]
                          - ang["gd", "least squares"][:n_gd]).max()
    print(f"gd,   {loss} vs least squares: max angle at equal iteration "
          f"{gd_gap[loss]:.3f} degrees")
for solver in ["gd", "gdnp"]:
    print(f"final {solver} directions, degrees from -S^-1 u: "
          + ", ".join(f"{loss} {ang[solver, loss][-1]:+.3f}" for loss in LOSSES))

# %%
# Where does the sigmoid's gdnp run end? Its direction is a critical point of
# the *empirical* sigmoid objective at a large scale, where that objective is
# governed by the few samples near the decision boundary. Compare the
# objective at the final scale along the final direction and along
# ``-S^{-1} u``:

g_final = sigmoid_scale[-1]
d_final = s_normalise(paths["gdnp", "sigmoid"][-1:])
d_line = s_normalise(-optimal_line[None, :])
f_final = objective("sigmoid", g_final * d_final)[0]
f_line = objective("sigmoid", g_final * d_line)[0]
print(f"sigmoid objective at g = {g_final:.4g}: final gdnp direction {f_final:.5f}, "
      f"direction -S^-1 u {f_line:.5f}")

# %%
# The verdict, computed from the numbers above (Kohler et al.: the gdnp paths
# of the three losses are identical until the optimal direction is found):

for loss in LOSSES[1:]:
    if max_gap[loss] < 1.0:
        print(f"{loss}: reproduced -- the gdnp directions agree with least "
              f"squares within {max_gap[loss]:.3f} degrees over the rotation "
              f"phase, while gd's differ by up to {gd_gap[loss]:.1f} degrees.")
    else:
        t1 = first_apart[loss]
        print(f"{loss}: not reproduced over the whole rotation phase -- the gdnp "
              f"directions agree with least squares within 1 degree for the "
              f"first {t1} iterations only, then differ by up to "
              f"{max_gap[loss]:.1f} degrees (gd: {gd_gap[loss]:.1f})"
              + (f"; the sigmoid's scale had grown from {sigmoid_scale[0]:.3g} "
                 f"to {sigmoid_scale[t1]:.3g} by then. Its best scale is "
                 "infinite, so the scale search never reaches the optimal "
                 "scale that the equivalence with the least-squares step "
                 "assumes, and at a large scale the empirical sigmoid depends "
                 "on the few samples near the boundary, where a finite sample "
                 "is far from Gaussian."
                 if loss == "sigmoid" else "."))
final_sig = ang["gdnp", "sigmoid"][-1]
if abs(final_sig) > 1.0:
    if f_final < f_line:
        why = ("where the empirical sigmoid objective is lower than on that "
               "line: the empirical objective's best direction at this scale is "
               "not Lemma 1's, which holds for Gaussian data (a finite sample "
               "is only approximately Gaussian, and at a large scale the "
               "sigmoid is governed by the few samples near the boundary).")
    else:
        why = ("where the empirical sigmoid objective is higher than on that "
               "line: at that scale the loss is saturated (gradient norm "
               f"{fits['gdnp', 'sigmoid'].grad_norm_curve_[-1]:.1e}) and gdnp "
               "stopped moving before finding the best direction.")
    print(f"sigmoid: gdnp ends {final_sig:+.2f} degrees off the line of "
          f"Lemma 1, {why}")

fig, axes = plt.subplots(1, 2, figsize=(11, 4), layout="constrained")
for loss, color in zip(LOSSES, ["C0", "C1", "C2"], strict=True):
    axes[0].plot(ang["gdnp", loss], color=color, label=loss)
    axes[1].plot(ang["gd", loss], color=color, label=loss)
for ax, solver in zip(axes, ["gdnp", "gd"], strict=True):
    ax.axhline(0.0, color="red", linestyle=":")
    ax.set_xlabel(f"{solver} iteration")
    ax.set_ylabel(r"angle to $-S^{-1}u$ (degrees)")
    ax.set_title(f"{solver}: direction of the iterates")
    ax.legend()
axes[0].axvline(phase, color="0.6", linewidth=0.8)
