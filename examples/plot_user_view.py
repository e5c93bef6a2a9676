"""
A user's view: model selection on a9a
=====================================

The estimators of skbnorm are ordinary scikit-learn estimators: they go into
a :class:`~sklearn.pipeline.Pipeline`, are tuned by
:class:`~sklearn.model_selection.GridSearchCV` and scored by
:func:`~sklearn.model_selection.cross_val_score`. This example tunes the
solver and the learning rate of
:class:`~skbnorm.NormalizedLogisticRegression` on a stratified subset of the
a9a training split (sparse input, scaled by
``StandardScaler(with_mean=False)``, which keeps it sparse), and compares the
result with scikit-learn's :class:`~sklearn.linear_model.LogisticRegression`
fitted to the same penalised objective: test accuracy on the a9a test split,
fit time, and the objective value reached.

The skbnorm fits have a fixed iteration budget (``max_iter``), as a user
would set for a grid search; the resulting ``ConvergenceWarning`` messages
are recorded rather than shown, and counted below. Set
``SKBNORM_EXAMPLE_SIZE=small`` for a quick run on fewer rows.
"""

# %%
# Data
# ----
# ``C`` is :class:`~sklearn.linear_model.LogisticRegression`'s: both minimise
# ``C sum_i log(1 + exp(-y_i f(x_i))) + ||coef||^2 / 2`` (the raw a9a data
# with an intercept has no minimiser without a penalty: some rows are
# separable).

import os
import time
import warnings
from collections import Counter

import matplotlib.pyplot as plt
import numpy as np
from sklearn.base import clone
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import (
    GridSearchCV,
    StratifiedKFold,
    cross_val_score,
    train_test_split,
)
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from skbnorm import NormalizedLogisticRegression
from skbnorm.datasets import load_a9a

SIZE = os.environ.get("SKBNORM_EXAMPLE_SIZE", "full")
if SIZE not in ("full", "small"):
    raise ValueError(f"SKBNORM_EXAMPLE_SIZE must be 'full' or 'small'; got {SIZE!r}")
SMALL = SIZE == "small"

N_SUBSET = 600 if SMALL else 4000
MAX_ITER = 100 if SMALL else 300
C = 1.0
CV = StratifiedKFold(3 if SMALL else 5, shuffle=True, random_state=0)

X_all, y_all = load_a9a("train")
X_test, y_test = load_a9a("test")
X, _, y, _ = train_test_split(X_all, y_all, train_size=N_SUBSET, stratify=y_all,
                              random_state=0)
print(f"a9a subset: {X.shape[0]} of {X_all.shape[0]} training rows, "
      f"{X.shape[1]} features, {X.nnz} stored values, "
      f"{np.mean(y == 1):.3f} positive; test split: {X_test.shape[0]} rows")

# %%
# Grid search over solvers and learning rates
# -------------------------------------------
# ``gdnp`` and ``agd`` choose their own steps; for ``gd`` a float
# ``learning_rate`` is the step on the coefficients, for ``bn`` it is the
# fixed direction step of the BN parametrisation.

pipe = Pipeline([
    ("scale", StandardScaler(with_mean=False)),
    ("clf", NormalizedLogisticRegression(C=C, max_iter=MAX_ITER,
                                         random_state=0)),
])
param_grid = [
    {"clf__solver": ["gdnp", "agd"]},
    {"clf__solver": ["gd", "bn"], "clf__learning_rate": ["auto", 0.1, 1.0, 10.0]},
]
search = GridSearchCV(pipe, param_grid, cv=CV)
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always", ConvergenceWarning)
    t0 = time.perf_counter()
    search.fit(X, y)
    search_time = time.perf_counter() - t0

res = search.cv_results_
order = np.argsort(res["rank_test_score"], kind="stable")
print(f"\nGridSearchCV: {len(order)} candidates x {CV.get_n_splits()} folds in "
      f"{search_time:.1f} s")
print(f"{'rank':>4} {'solver':>6} {'learning_rate':>13} {'CV accuracy':>17} "
      f"{'fit time (s)':>12}")
for i in order:
    p = res["params"][i]
    print(f"{res['rank_test_score'][i]:>4} {p['clf__solver']:>6} "
          f"{str(p.get('clf__learning_rate', 'auto')):>13} "
          f"{res['mean_test_score'][i]:>8.4f} +- {res['std_test_score'][i]:.4f} "
          f"{res['mean_fit_time'][i]:>12.3f}")
print(f"best: {search.best_params_}, CV accuracy {search.best_score_:.4f}")


def solver_of(message):
    return message.split("solver=")[1].split(")")[0].strip("'")


kinds = Counter()
for w in caught:
    if not issubclass(w.category, ConvergenceWarning):
        continue
    msg = str(w.message)
    kind = "diverged" if "diverged" in msg else (
        "max_iter" if "max_iter" in msg else "other")
    kinds[solver_of(msg) if "solver=" in msg else "?", kind] += 1
print("ConvergenceWarnings during the search and the refit (solver, kind): count")
for (solver, kind), count in sorted(kinds.items()):
    print(f"  {solver:>5} {kind:>9}: {count}")

# %%
# How much does the choice matter?
# --------------------------------
# The spread of the mean CV accuracies against their typical (median)
# standard deviation over the folds.

scores = res["mean_test_score"]
stds = res["std_test_score"]
typical_std = np.median(stds)
good = scores >= scores.max() - 2 * typical_std
print(f"\nCV accuracy over the grid: {scores.min():.4f} .. {scores.max():.4f}; "
      f"median fold std {typical_std:.4f}; {good.sum()} of {len(scores)} "
      "candidates are within two median fold stds of the best")
bad = [f"{res['params'][i]['clf__solver']} "
       f"learning_rate={res['params'][i].get('clf__learning_rate', 'auto')}"
       for i in np.flatnonzero(~good)]
if bad:
    print("clearly worse: " + ", ".join(bad))

fig, ax = plt.subplots(figsize=(7, 4))
labels = [f"{p['clf__solver']}\n{p.get('clf__learning_rate', 'auto')}"
          for p in res["params"]]
ax.errorbar(np.arange(len(scores)), scores, yerr=stds, fmt="o", capsize=3)
ax.set_xticks(np.arange(len(scores)), labels, fontsize=8)
ax.set_ylabel(f"{CV.get_n_splits()}-fold CV accuracy")
ax.set_title(f"NormalizedLogisticRegression on {N_SUBSET} a9a rows "
             f"(max_iter={MAX_ITER})", fontsize=9)
fig.tight_layout()

# %%
# Comparison with scikit-learn's LogisticRegression
# -------------------------------------------------
# The best pipeline and ``LogisticRegression`` (lbfgs) on the same scaled
# features and the same penalty, first on the subset and then on the whole
# training split: cross-validated accuracy on the subset, accuracy on the
# test split, fit time (the best of three fits; the machine is shared), and
# the penalised objective they reach.


def objective(model, X, y):
    """``sum_i log(1 + e^{-y_i m_i}) + ||coef||^2 / (2 C)`` per row, scaled."""
    Z = model[:-1].transform(X)
    coef = np.ravel(model[-1].coef_)
    margin = Z @ coef + np.ravel(model[-1].intercept_)[0]
    return (np.mean(np.logaddexp(0.0, -y * margin))
            + 0.5 * coef @ coef / (C * len(y)))


def sklearn_pipe():
    return Pipeline([
        ("scale", StandardScaler(with_mean=False)),
        ("clf", LogisticRegression(C=C, max_iter=10_000)),
    ])


REPEATS = 1 if SMALL else 3  # fit times: the best of REPEATS fits


def timed_fit(model, X, y):
    best = np.inf
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)  # budget-limited
        for _ in range(REPEATS):
            t0 = time.perf_counter()
            model.fit(X, y)
            best = min(best, time.perf_counter() - t0)
    return best


best_name = (f"skbnorm {search.best_params_['clf__solver']} "
             f"lr={search.best_params_.get('clf__learning_rate', 'auto')}")
with warnings.catch_warnings():
    warnings.simplefilter("ignore", ConvergenceWarning)  # budget-limited
    cv_best = cross_val_score(search.best_estimator_, X, y, cv=CV)
cv_sklearn = cross_val_score(sklearn_pipe(), X, y, cv=CV)

rows = []
n_full = X_all.shape[0] if not SMALL else 2 * N_SUBSET
X_big, y_big = X_all[:n_full], y_all[:n_full]
for data_name, (Xf, yf) in (("subset", (X, y)), ("train", (X_big, y_big))):
    for name, model in ((best_name, clone(search.best_estimator_)),
                        ("sklearn LogisticRegression", sklearn_pipe())):
        seconds = timed_fit(model, Xf, yf)
        cv = cv_best if name == best_name else cv_sklearn
        rows.append((name, Xf.shape[0],
                     f"{cv.mean():.4f} +- {cv.std():.4f}" if data_name == "subset"
                     else "", model.score(X_test, y_test), seconds,
                     objective(model, Xf, yf)))

print(f"\n{'model':<28} {'rows':>6} {'CV accuracy':>17} {'test acc':>9} "
      f"{'fit (s)':>8} {'objective':>12}")
for name, n, cv, acc, sec, obj in rows:
    print(f"{name:<28} {n:>6} {cv:>17} {acc:>9.4f} {sec:>8.3f} {obj:>12.8f}")
for k in (0, 2):
    ours, theirs = rows[k], rows[k + 1]
    gap = ours[5] - theirs[5]
    print(f"{ours[1]} rows: objective gap skbnorm - sklearn = {gap:+.2e} "
          f"({'skbnorm lower' if gap < 0 else 'sklearn lower'}); test accuracy "
          f"difference {ours[3] - theirs[3]:+.4f}; fit time ratio "
          f"{ours[4] / theirs[4]:.2f}")
