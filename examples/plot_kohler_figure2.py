"""
Kohler et al. (2019), Figure 2: gdnp against gd, agd, bn and wn
===============================================================

Kohler et al.'s Figure 2 compares gradient descent in normalized parameters
(gdnp) with gradient descent (gd), Nesterov's accelerated gradient (agd),
plain gradient descent on the Batch Normalization parameters (bn) and on the
Weight Normalization parameters (wn), full batch, on centered data without an
intercept, for the softplus loss (logistic regression; log suboptimality) and
the sigmoid loss (non-convex; log gradient norm), on Gaussian data and on
a9a, with the median and a 90% band over 10 random initialisations. The paper
reports a linear rate for gdnp on Gaussian data and an acceleration over all
four competitors on a9a.

This example reruns the comparison with :class:`~skbnorm.HalfspaceClassifier`
and reads ``loss_curve_`` and ``grad_norm_curve_`` (``loss_curve_[k]`` is the
objective after ``k`` steps). ``f*`` is scikit-learn's
:class:`~sklearn.linear_model.LogisticRegression` optimum. All solvers use
their default (automatic) step sizes.
"""

# %%
# Setup and budget
# ----------------
#
# A full-batch iteration on the centered (hence dense) a9a training set costs a
# few milliseconds per solver (more for gdnp, whose scale search and step
# control cost extra passes over the data), and every fit also estimates
# ``L = lambda_max(S)``. To keep the example under a minute, a9a is run with
# the paper's 10 random initialisations but fewer iterations than the Gaussian
# data (see ``A9A_SOFTPLUS`` and ``A9A_SIGMOID``; ``tests/test_a9a_optimum.py``
# and the user guide follow every solver to the optimum). ``SKBNORM_EXAMPLE_SIZE=small``
# shrinks everything for the smoke tests (and uses only the first 2000 rows of
# a9a).

import os
import time
import warnings

import matplotlib.pyplot as plt
import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression

from skbnorm import HalfspaceClassifier
from skbnorm.datasets import load_a9a, make_gaussian_halfspace

SIZE = os.environ.get("SKBNORM_EXAMPLE_SIZE", "full")
if SIZE not in ("full", "small"):
    raise ValueError(f"SKBNORM_EXAMPLE_SIZE must be 'full' or 'small'; got {SIZE!r}")
SMALL = SIZE == "small"

SOLVERS = ["gd", "agd", "bn", "wn", "gdnp"]
COLORS = dict(zip(SOLVERS, ["C0", "C1", "C2", "C3", "k"], strict=True))
# (number of random initialisations, iterations)
GAUSSIAN = (3, 30) if SMALL else (10, 100)
A9A_SOFTPLUS = (2, 20) if SMALL else (10, 35)
A9A_SIGMOID = (1, 20) if SMALL else (10, 25)
# softplus: the relative suboptimality (f_t - f*)/f* by which solvers are ranked
THRESHOLD = {"Gaussian": 1e-10, "a9a": 1e-3}
A9A_ROWS = 2000 if SMALL else None

N_GAUSS = 300 if SMALL else 2000
X_gauss, y_gauss = make_gaussian_halfspace(N_GAUSS, 10, condition_number=5.0,
                                           separation=1.0, random_state=0)
X_gauss = X_gauss - X_gauss.mean(axis=0)
X_a9a, y_a9a = load_a9a("train")
X_a9a = X_a9a[:A9A_ROWS].toarray()
y_a9a = y_a9a[:A9A_ROWS]
X_a9a -= X_a9a.mean(axis=0)
DATA = {"Gaussian": (X_gauss, y_gauss), "a9a": (X_a9a, y_a9a)}


def condition_number(X):
    """L/mu of S = X^T X / n on its range (a9a's S is singular)."""
    eigvals = np.linalg.eigvalsh(X.T @ X / X.shape[0])
    return eigvals[-1] / eigvals[eigvals > 1e-10 * eigvals[-1]][0]


for name, (X, _) in DATA.items():
    print(f"{name}: {X.shape[0]} samples, {X.shape[1]} features, centered; "
          f"condition number of S on its range {condition_number(X):.3g}")


def softplus_optimum(X, y):
    """f* of the softplus objective from scikit-learn's LogisticRegression."""
    ref = LogisticRegression(C=np.inf, fit_intercept=False, solver="newton-cg",
                             tol=1e-8).fit(X, y)
    return np.mean(np.logaddexp(0.0, -y * (X @ ref.coef_.ravel())))


def run(X, y, loss, n_seeds, n_iter):
    """Curves of every solver over ``random_state = 0 .. n_seeds - 1``.

    Returns ``{solver: dict}`` with the loss and gradient norm curves (arrays
    of shape (n_seeds, n_iter), padded with NaN after a run that stopped
    early), the final scales, the number of runs that warned about the scale
    search, and the seconds per iteration.
    """
    out = {}
    for solver in SOLVERS:
        losses = np.full((n_seeds, n_iter), np.nan)
        grads = np.full((n_seeds, n_iter), np.nan)
        scales = np.empty(n_seeds)
        scale_warnings = 0
        tic = time.perf_counter()
        for seed in range(n_seeds):
            est = HalfspaceClassifier(loss=loss, C=np.inf, solver=solver,
                                      direction_step="paper",
                                      fit_intercept=False, max_iter=n_iter,
                                      tol=0.0, random_state=seed)
            with warnings.catch_warnings(record=True) as caught:
                # max_iter is reached on purpose; the sigmoid's best scale is
                # infinite, and gdnp warns when its scale search hits its bound
                warnings.simplefilter("always", ConvergenceWarning)
                est.fit(X, y)
            # gdnp's two scale-search warnings (cap reached, search at bound)
            scale_warnings += any("scale search" in str(w.message)
                                  or "scale g is unbounded" in str(w.message)
                                  for w in caught)
            k = est.loss_curve_.size
            losses[seed, :k] = est.loss_curve_
            grads[seed, :k] = est.grad_norm_curve_
            scales[seed] = abs(est.scale_[0])
        seconds = (time.perf_counter() - tic) / np.isfinite(losses).sum()
        out[solver] = dict(loss=losses, grad=grads, scale=scales,
                           scale_warnings=scale_warnings, seconds=seconds)
    return out


def band(curves):
    """5th, 50th and 95th percentiles over the seeds, where any run is left."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN columns
        return np.nanpercentile(curves, [5, 50, 95], axis=0)


# %%
# Running the solvers
# -------------------
#
# The printed time per iteration includes each fit's set-up (validation and
# the Lanczos estimate of ``L``).

f_star = {}
results = {}
budgets = {("Gaussian", "softplus"): GAUSSIAN, ("Gaussian", "sigmoid"): GAUSSIAN,
           ("a9a", "softplus"): A9A_SOFTPLUS, ("a9a", "sigmoid"): A9A_SIGMOID}
for (name, loss), (n_seeds, n_iter) in budgets.items():
    X, y = DATA[name]
    if loss == "softplus":
        f_star[name] = softplus_optimum(X, y)
        print(f"{name}: softplus f* = {f_star[name]:.12g} (LogisticRegression)")
    results[name, loss] = run(X, y, loss, n_seeds, n_iter)
    print(f"{name}, {loss}: {n_seeds} random initialisations, {n_iter} iterations; "
          "seconds per iteration: " + ", ".join(
              f"{s} {results[name, loss][s]['seconds'] * 1e3:.1f} ms"
              for s in SOLVERS))

# %%
# Medians over the random initialisations
# ---------------------------------------
#
# Softplus: suboptimality ``f_t - f*``; sigmoid: gradient norm and loss. A
# solver that stopped before ``t`` (gdnp stops when no step decreases the
# objective any more, or when the sigmoid's scale reaches its cap) is shown
# at its last iterate, marked with ``*``.


def median_at(curves, t):
    """Median over the seeds at iteration t (or at each run's last iterate)."""
    last = np.array([row[np.isfinite(row)][-1] for row in curves])
    at_t = curves[:, min(t, curves.shape[1] - 1)]
    stopped = not np.all(np.isfinite(at_t))
    return np.median(np.where(np.isfinite(at_t), at_t, last)), stopped


def curves_of(name, loss, solver, quantity):
    r = results[name, loss][solver]
    return {"suboptimality": r["loss"] - f_star.get(name, 0.0),
            "gradient norm": r["grad"], "loss": r["loss"]}[quantity]


summary = {}
for (name, loss), res in results.items():
    n_iter = budgets[name, loss][1]
    checkpoints = sorted({10, n_iter // 3, n_iter - 1})
    quantities = (["suboptimality"] if loss == "softplus"
                  else ["gradient norm", "loss"])
    for quantity in quantities:
        print(f"{name}, {loss}, median {quantity} at t = "
              + ", ".join(map(str, checkpoints)) + ":")
        for solver in SOLVERS:
            curves = curves_of(name, loss, solver, quantity)
            cells = []
            for t in checkpoints:
                value, stopped = median_at(curves, t)
                cells.append(f"{value:10.3e}{'*' if stopped else ' '}")
            summary[name, loss, quantity, solver] = median_at(curves,
                                                              n_iter - 1)[0]
            print(f"  {solver:>4} " + " ".join(cells))
    if loss == "sigmoid":
        print(f"{name}, sigmoid: median final scale ||w~||_S, iterations run, "
              "runs with a scale-search warning:")
        for solver in SOLVERS:
            r = res[solver]
            ran = np.isfinite(r["loss"]).sum(axis=1)
            print(f"  {solver:>4} {np.median(r['scale']):10.4g} "
                  f"{np.median(ran):6.0f} {r['scale_warnings']:3d}/{ran.size}")

# %%
# Softplus: iterations to reach a relative suboptimality ``(f_t - f*)/f*`` of
# ``THRESHOLD`` (median curve; ``-`` when not reached within the budget), and
# the mean contraction factor of the median suboptimality per iteration from
# ``t = 10`` to that iteration (or to the last one): a linear rate shows as a
# factor well below 1 that holds over the run (a straight line in the figure).

reached = {}
for name in DATA:
    n_iter = budgets[name, "softplus"][1]
    cells = []
    for solver in SOLVERS:
        sub = band(curves_of(name, "softplus", solver, "suboptimality"))[1]
        hit = np.flatnonzero(sub <= THRESHOLD[name] * f_star[name])
        reached[name, solver] = int(hit[0]) if hit.size else np.inf
        end = int(hit[0]) if hit.size else n_iter - 1
        factor = (sub[end] / sub[10]) ** (1.0 / (end - 10)) if end > 10 else np.nan
        cells.append(f"{solver} {hit[0] if hit.size else '-'} "
                     f"(factor {factor:.3f})")
    print(f"{name}, softplus, iterations to {THRESHOLD[name]:g} relative "
          f"suboptimality (of {n_iter}): " + ", ".join(cells))

# %%
# The figure
# ----------
#
# Median (line) and 5th-95th percentile band over the random initialisations.

fig, axes = plt.subplots(2, 3, figsize=(14, 8), layout="constrained")
for i, name in enumerate(DATA):
    for j, (loss, quantity) in enumerate([("softplus", "suboptimality"),
                                          ("sigmoid", "gradient norm"),
                                          ("sigmoid", "loss")]):
        ax = axes[i, j]
        n_seeds, n_iter = budgets[name, loss]
        for solver in SOLVERS:
            curves = curves_of(name, loss, solver, quantity)
            if quantity == "suboptimality":
                # below ~1e-13 relative the difference is rounding noise
                floor = 1e-13 * f_star[name]
                curves = np.where(curves > floor, curves, np.nan)
            low, mid, high = band(curves)
            ax.plot(mid, color=COLORS[solver], label=solver,
                    linewidth=2.0 if solver == "gdnp" else 1.2)
            ax.fill_between(np.arange(n_iter), low, high, color=COLORS[solver],
                            alpha=0.2, linewidth=0)
        if quantity != "loss":
            ax.set_yscale("log")
        ax.set_title(f"{name}, {loss}: {quantity}\n"
                     f"({n_seeds} initialisation{'s' if n_seeds > 1 else ''})")
        ax.set_xlabel("iteration")
axes[0, 0].set_ylabel(r"$f_t - f^*$")
axes[1, 0].set_ylabel(r"$f_t - f^*$")
axes[0, 0].legend()

# %%
# What reproduces
# ---------------
#
# The paper: gdnp converges linearly on Gaussian data and is faster than gd,
# agd, bn and wn on a9a (softplus: suboptimality; sigmoid: gradient norm).
# The verdicts below rank the softplus runs by the iterations to the threshold
# above (then by the final median suboptimality) and the sigmoid runs by the
# median gradient norm at the last iteration. For the
# sigmoid, a small gradient norm is not by itself progress: its infimum lies
# at an infinite scale, so the gradient also vanishes as the loss saturates --
# the loss column is printed to tell the two apart.

for (name, loss), res in results.items():
    n_iter = budgets[name, loss][1]
    if loss == "softplus":
        quantity = f"iterations to {THRESHOLD[name]:g} relative suboptimality"
        key = {s: (reached[name, s], summary[name, loss, "suboptimality", s])
               for s in SOLVERS}
        shown = {s: (f"{key[s][0]}" if np.isfinite(key[s][0])
                     else f">{n_iter - 1} ({key[s][1]:.2e})") for s in SOLVERS}
    else:
        quantity = f"median gradient norm after {n_iter} iterations"
        key = {s: summary[name, loss, "gradient norm", s] for s in SOLVERS}
        shown = {s: f"{key[s]:.2e}" for s in SOLVERS}
    order = sorted(SOLVERS, key=key.get)
    ahead = [s for s in SOLVERS if s != "gdnp" and key[s] < key["gdnp"]]
    line = (f"{name}, {loss}, by {quantity} (best first): "
            + ", ".join(f"{s} {shown[s]}" for s in order) + ". ")
    close = [s for s in ahead if loss == "softplus"
             and np.isfinite(key["gdnp"][0])
             and key[s][0] >= 0.9 * key["gdnp"][0]]
    if not ahead:
        line += "gdnp is ahead of gd, agd, bn and wn, as in the paper."
    elif close == ahead:
        line += ("gdnp and " + ", ".join(close) + " are about tied (within "
                 "10% of the iterations); gdnp is ahead of the others.")
    else:
        beaten = [s for s in SOLVERS if s != "gdnp" and s not in ahead]
        line += ("Not as in the paper: " + ", ".join(ahead)
                 + (" is" if len(ahead) == 1 else " are") + " ahead of gdnp"
                 + ("; gdnp beats " + ", ".join(beaten) if beaten else "")
                 + ".")
    if loss == "sigmoid":
        losses = {s: summary[name, loss, "loss", s] for s in SOLVERS}
        best = min(losses, key=losses.get)
        others = min(v for s, v in losses.items() if s != "gdnp")
        line += (f" Lowest median sigmoid loss: {best} ({losses[best]:.4f}"
                 + (f"; the best other solver reaches {others:.4f})."
                    if best == "gdnp" else f"; gdnp {losses['gdnp']:.4f}).")
                 + f" gdnp's runs warned about its scale search in "
                 f"{res['gdnp']['scale_warnings']} of {budgets[name, loss][0]}; "
                 "its median final scale ||w~||_S is "
                 f"{np.median(res['gdnp']['scale']):.3g} against at most "
                 f"{max(np.median(res[s]['scale']) for s in SOLVERS[:-1]):.3g} "
                 "for the others: part of its gradient-norm decrease is the "
                 "saturation of the sigmoid as the scale grows.")
    print(line)

# %%
# Why the Gaussian and a9a results differ
# ---------------------------------------
#
# gd and agd take steps set by the largest curvature of the softplus,
# ``sup phi'' = 1/4``; near the optimum the curvature is ``E[phi'']``, which
# shrinks as the classes separate, while gdnp's step does not depend on it. The
# same Gaussian problem with a smaller separation (0.5 instead of 1) shows how
# much of gdnp's lead over agd comes from there. On a9a, the condition number
# of ``S`` printed at the top is large, and there Nesterov's ``sqrt(L/mu)``
# dependence pays off. (The user guide reports a longer a9a softplus run from
# one start, to a relative suboptimality of 1e-6: agd 375 iterations, gdnp
# 5765, bn 8764, gd 9532, wn 17704.)


def softplus_curvature(X, y):
    """E[phi''] at scikit-learn's softplus optimum."""
    ref = LogisticRegression(C=np.inf, fit_intercept=False, solver="newton-cg",
                             tol=1e-8).fit(X, y)
    return np.mean(0.25 / np.cosh(0.5 * y * (X @ ref.coef_.ravel())) ** 2)


X_half, y_half = make_gaussian_halfspace(N_GAUSS, 10, condition_number=5.0,
                                         separation=0.5, random_state=0)
X_half = X_half - X_half.mean(axis=0)
gaussian_runs = {
    1.0: (X_gauss, y_gauss, f_star["Gaussian"], results["Gaussian", "softplus"]),
    0.5: (X_half, y_half, softplus_optimum(X_half, y_half),
          run(X_half, y_half, "softplus", *GAUSSIAN)),
}
for separation, (X, y, f_opt, res) in gaussian_runs.items():
    cells = []
    for solver in SOLVERS:
        rel = band(res[solver]["loss"] - f_opt)[1] / f_opt
        hit = np.flatnonzero(rel <= THRESHOLD["Gaussian"])
        cells.append(f"{solver} {hit[0] if hit.size else '-'}")
    print(f"Gaussian, separation {separation:g}: E[phi''] at the optimum "
          f"{softplus_curvature(X, y):.4f} (sup phi'' = 0.25); iterations to "
          f"{THRESHOLD['Gaussian']:g} relative suboptimality (median of "
          f"{GAUSSIAN[0]}): " + ", ".join(cells))
