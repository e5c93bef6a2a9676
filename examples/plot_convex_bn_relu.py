"""
Convex BN-ReLU networks: the global optimum, certified
======================================================

Ergen et al. (ICLR 2022) show that a weight-decay regularised two-layer ReLU
network with Batch Normalization,

``f(X) = sum_j relu(gamma_j (X w_j - mean_j)/std_j + alpha_j) v_j``,
trained on ``1/2 ||f(X) - y||^2 + beta/2 sum_j (gamma_j^2 + alpha_j^2 + v_j^2)``,

is a convex program once the data are whitened: a group lasso over the
activation patterns of the data with cone constraints.
:class:`~skbnorm.ConvexBNReLURegressor` and
:class:`~skbnorm.ConvexBNReLUClassifier` solve that program and return the
network together with a duality gap, which bounds how far the network's
objective is from the optimum.

This example shows three things:

1. On a small problem where every activation pattern is enumerated,
   gradient descent on the non-convex network never gets below the
   certified optimum. From random starts it usually ends well above it.
2. On two shipped binary tasks (an a9a subset, and digits odd against even),
   the convex network is compared with the same network trained by gradient
   descent and with scikit-learn's ``MLPClassifier``: training objective,
   test accuracy and time.
3. What we did not check: the paper's implicit-regularisation observation.

Set ``SKBNORM_EXAMPLE_SIZE=small`` for a quick run (used by the test suite).
"""

# %%
# Setup
# -----

import os
import time
import warnings

import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.neural_network import MLPClassifier

from skbnorm import ConvexBNReLUClassifier, ConvexBNReLURegressor
from skbnorm.convex import (
    UncertifiedWarning,
    bn_relu_forward,
    bn_relu_objective,
    max_patterns,
)

# the local-search baseline: gradient descent on the non-convex network
# (a private helper of the package's checks, not an estimator)
from skbnorm.convex._network import train_bn_relu_gd
from skbnorm.datasets import load_a9a

SIZE = os.environ.get("SKBNORM_EXAMPLE_SIZE", "full")
if SIZE not in ("full", "small"):
    raise ValueError(f"SKBNORM_EXAMPLE_SIZE must be 'full' or 'small'; got {SIZE!r}")
SMALL = SIZE == "small"

N_STARTS = 8 if SMALL else 30  # random starts of gradient descent
GD_STEPS = 800 if SMALL else 3000
N_TRAIN = 150 if SMALL else 400
ADMM_ITER = 3000 if SMALL else 20000  # per working-set round
N_TEST = 1000 if SMALL else 5000

# %%
# 1. Global optimality on a small problem
# ---------------------------------------
# Twelve samples in two dimensions: with the bias column the whitened data
# live in R^3, and the arrangement has at most 134 cells, so all of them
# are enumerated (at most ``max_cells``) and, with ``n_patterns=200``, all
# are in the first working set. The fit is certified (``certified_``):
# ``objective_ - duality_gap_`` bounds the objective of *every* network of
# any width from below.

rng = np.random.RandomState(0)
X = rng.randn(12, 2)
y = np.sin(2 * X[:, 0]) + X[:, 1] ** 2
beta = 0.1
print(f"arrangement cells at most: {max_patterns(12, 3)}")
reg = ConvexBNReLURegressor(beta=beta, n_patterns=200, tol=1e-6,
                            max_iter=100000).fit(X, y)
lower = reg.objective_ - reg.duality_gap_
print(f"convex: objective {reg.objective_:.6f}, duality gap "
      f"{reg.duality_gap_:.2e}, {reg.n_neurons_} units, certified "
      f"{reg.certified_}")

finals = []
for seed in range(N_STARTS):
    _, curve = train_bn_relu_gd(X, y, 20, beta, max_iter=GD_STEPS,
                                random_state=seed)
    finals.append(curve[-1])
finals = np.array(finals)
print(f"gradient descent, 20 units, {N_STARTS} starts x {GD_STEPS} steps:")
print(f"  lowest {finals.min():.6f}, median {np.median(finals):.6f}, highest "
      f"{finals.max():.6f}")
print(f"  below the certified lower bound: {(finals < lower).sum()} of "
      f"{finals.size}; within 1% of the optimum: "
      f"{(finals <= 1.01 * reg.objective_).sum()}")

fig, ax = plt.subplots(figsize=(6.5, 3.8))
ax.hist(finals, bins=15, color="0.6", label="gradient descent (random starts)")
ax.axvline(reg.objective_, color="C3", lw=2, label="convex program (optimum)")
ax.set_xlabel("training objective")
ax.set_ylabel("starts")
ax.set_title("Non-convex training never beats the convex optimum", fontsize=10)
ax.legend(fontsize=8)
fig.tight_layout()

# %%
# 2. Binary tasks: convex network, GD-trained network, MLPClassifier
# ------------------------------------------------------------------
# Targets are ±1 and the loss is the squared one, as in the paper. The
# GD-trained network is the same model (``beta`` and all) with as many units
# as the convex solution uses, trained from one random start; its training
# objective is directly comparable. ``MLPClassifier`` (adam, one hidden layer
# of 50 ReLU units, default settings) minimises the log-loss, so only its
# accuracy and time are comparable.


def a9a_task():
    Xtr, ytr = load_a9a("train")
    Xte, yte = load_a9a("test")
    pick = np.random.RandomState(0).permutation(Xtr.shape[0])[:N_TRAIN]
    return "a9a subset", Xtr[pick].toarray(), ytr[pick], \
        Xte[:N_TEST].toarray(), yte[:N_TEST]


def digits_task():
    X, y = load_digits(return_X_y=True)
    y = np.where(y % 2 == 1, 1, -1)  # odd against even
    perm = np.random.RandomState(0).permutation(X.shape[0])
    tr, te = perm[:N_TRAIN], perm[N_TRAIN:]
    return "digits odd/even", X[tr] / 16.0, y[tr], X[te] / 16.0, y[te]


def accuracy(scores, y):
    return float(np.mean(np.where(scores > 0, 1, -1) == y))


rows = []
for name, Xtr, ytr, Xte, yte in (a9a_task(), digits_task()):
    ypm = np.where(ytr > 0, 1.0, -1.0)
    yte_pm = np.where(yte > 0, 1, -1)
    t0 = time.perf_counter()
    clf = ConvexBNReLUClassifier(beta=1.0, n_patterns=128, tol=1e-3,
                                 max_iter=ADMM_ITER, random_state=0)
    with warnings.catch_warnings():
        # hundreds of rows: far too many cells to enumerate, so the fit is
        # certified over its working set only (and says so)
        warnings.simplefilter("ignore", UncertifiedWarning)
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(Xtr, ypm)
    t_cvx = time.perf_counter() - t0
    rows.append((name, "convex BN-ReLU", clf.objective_,
                 f"gap {clf.duality_gap_ / clf.objective_:.1e}",
                 accuracy(clf.decision_function(Xte), yte_pm), t_cvx))

    t0 = time.perf_counter()
    m = max(clf.n_neurons_, 1)
    (W, g, a, v), curve = train_bn_relu_gd(Xtr, ypm, m, 1.0,
                                           max_iter=GD_STEPS, random_state=0)
    t_gd = time.perf_counter() - t0
    H = Xtr @ W
    scores = bn_relu_forward(Xte, W, H.mean(0), H.std(0), g, a, v)
    rows.append((name, f"GD, {m} units", bn_relu_objective(Xtr, ypm, W, g, a,
                                                           v, 1.0),
                 f"{curve.size - 1} steps", accuracy(scores, yte_pm), t_gd))

    t0 = time.perf_counter()
    mlp = MLPClassifier(hidden_layer_sizes=(50,), random_state=0,
                        max_iter=500)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        mlp.fit(Xtr, ypm)
    t_mlp = time.perf_counter() - t0
    rows.append((name, "MLPClassifier (adam)", np.nan, "log-loss",
                 float(np.mean(mlp.predict(Xte) == yte_pm)), t_mlp))

print(f"\n{'task':<16} {'model':<22} {'train objective':>16} {'':>14} "
      f"{'test acc.':>9} {'time [s]':>9}")
for name, model, obj, note, acc, t in rows:
    obj_s = "-" if np.isnan(obj) else f"{obj:.4f}"
    print(f"{name:<16} {model:<22} {obj_s:>16} {note:>14} {acc:9.4f} {t:9.2f}")

# %%
# What the runs show
# ------------------
# Measured with this script at full size (2 cores):
#
# * Section 1: the convex optimum is 0.782828 with a certified gap of
#   6.7e-7; 30 gradient-descent starts with 20 units end between 0.978 and
#   4.77 after 3000 steps (median 1.70): none below the bound, none within
#   1% of the optimum.
# * Section 2, a9a (400 training rows, 5000 test rows): the convex network
#   reaches a training objective of 16.9 (relative gap 1e-3) in 1.9-2.8 s with
#   254 units, test accuracy 0.793; gradient descent on the same model and
#   width stops at 233 after 3000 steps (14 s), accuracy 0.798;
#   MLPClassifier 0.814 in 0.6 s. Digits odd/even: 10.2 against 190, test
#   accuracies 0.943, 0.959 and 0.962.
#
# The convex program finds a far lower training objective than local
# search, as the theory says, but at ``beta = 1`` that optimum fits 400
# samples closely and does not generalise better than the under-trained
# network or the MLP: the regularisation strength, not the optimiser, is
# what the test accuracy asks to be tuned (``beta`` is a hyper-parameter
# for :class:`~sklearn.model_selection.GridSearchCV` like any other).
#
# What this example does not show
# -------------------------------
# The paper also reports that gradient descent on the non-convex BN network
# has an algorithmic bias, and encodes it as an explicit regulariser in the
# convex program. Its precise form is in the paper's full text, which is
# not shipped with this project, so we did not reproduce it.

plt.show()
