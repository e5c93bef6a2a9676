"""NormalizedMLPClassifier against scikit-learn's MLPClassifier (adam).

Two tasks: a9a (the shipped train file -> the shipped test file, sparse
123 features) and scikit-learn's digits (pixels / 16, a stratified 70/30
split with ``random_state=0``). Both estimators get the same network (one
hidden layer of 100 tanh units), the same stopping rule (``max_iter=200``,
``tol=1e-4``, ``n_iter_no_change=10``) and the same ``alpha=1e-4``, in two
settings: stopping on the training loss (both libraries' default) and
``early_stopping=True`` (10% held out). Everything else is each library's
default: ``adam`` with ``learning_rate_init=1e-3`` and ``batch_size=200``
for scikit-learn; ``solver="bn"`` with ``learning_rate=0.1`` and
``batch_size=200`` for skbnorm.

Each fit is timed around ``fit`` (numba kernels warm: one small fit first);
the estimators alternate seed by seed. skbnorm runs twice: with its
defaults, and with ``learning_rate_scale=0.01``.

A first table times the fused BN kernels against the same computation in
NumPy, and BLAS against a plain numba loop for the matrix products.

A third table is the defaults panel a new user sees: each library's
estimator with nothing set but ``random_state=0``, in a scaler pipeline
(``StandardScaler``; ``MaxAbsScaler`` for sparse a9a), on the sets of
``bench_defaults.py`` (75/25 stratified splits; a9a train -> test), one
untimed fit first (it records the ConvergenceWarnings), then one timed.

Run: ``python benchmarks/bench_mlp.py`` (about 10 minutes on 2 cores; most
of it scikit-learn on a9a; ``--kernels`` for the first table alone,
``--panel`` for the defaults panel alone, about 4 minutes) or as the ``mlp``
suite of ``run.py``.
"""

import functools
import statistics
import sys
import time
import warnings
from pathlib import Path

import numpy as np
from _harness import Table, interleaved

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sklearn.datasets import load_digits  # noqa: E402
from sklearn.exceptions import ConvergenceWarning  # noqa: E402
from sklearn.model_selection import train_test_split  # noqa: E402
from sklearn.neural_network import MLPClassifier, MLPRegressor  # noqa: E402

from skbnorm import NormalizedMLPClassifier, NormalizedMLPRegressor  # noqa: E402
from skbnorm.datasets import load_a9a  # noqa: E402

COMMON = dict(hidden_layer_sizes=(100,), activation="tanh", max_iter=200,
              tol=1e-4, n_iter_no_change=10, alpha=1e-4)


#: skbnorm's settings: its defaults, and a smaller step on the scales, shifts
#: and output layer (Cai et al.'s scale step below the direction step)
VARIANTS = {"defaults": {}, "learning_rate_scale=0.01": {"learning_rate_scale": 0.01}}


def _mean_sd(values):
    return f"{np.mean(values):.4f} ({np.std(values, ddof=1):.4f})"


def _tasks():
    Xa, ya = load_a9a("train")
    Xat, yat = load_a9a("test")
    X, y = load_digits(return_X_y=True)
    Xd, Xdt, yd, ydt = train_test_split(X / 16.0, y, test_size=0.3,
                                        random_state=0, stratify=y)
    return {"a9a": (Xa, ya, Xat, yat), "digits": (Xd, yd, Xdt, ydt)}


def _fit(make, X, y, Xt, yt):
    model = make()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        t0 = time.perf_counter()
        model.fit(X, y)
        elapsed = time.perf_counter() - t0
    return elapsed, model.score(Xt, yt), model.n_iter_


def _numpy_bn_forward(H, s, g, b):
    mu = s @ H
    sigma = np.sqrt(s @ (H - mu) ** 2)
    Z = (H - mu) / sigma
    return Z, np.tanh(g * Z + b)


def _numpy_bn_backward(dA, A, Z, sigma, g, s):
    dP = dA * (1.0 - A * A)
    gb = dP.sum(axis=0)
    gg = np.sum(dP * Z, axis=0)
    return g * (dP - s[:, None] * (gb + Z * gg)) / sigma, gg, gb


def kernel_table(quick=False):
    """The fused BN kernels against the same computation in NumPy, and BLAS
    against a plain numba loop for the products (why they stay with BLAS)."""
    from skbnorm._numba import jit
    from skbnorm.mlp import _kernels as K

    @jit
    def loop_matmul(A, W):
        n, d = A.shape
        out = np.zeros((n, W.shape[1]))
        for i in range(n):
            for k in range(d):
                a = A[i, k]
                for j in range(W.shape[1]):
                    out[i, j] += a * W[k, j]
        return out

    rng = np.random.RandomState(0)
    table = Table(
        "MLP kernels: one tanh BN layer, fused numba pass against NumPy",
        ["block (n x m)", "forward NumPy (us)", "forward kernel (us)",
         "forward speed-up", "backward NumPy (us)", "backward kernel (us)",
         "backward speed-up", "product BLAS (us)", "product numba loop (us)",
         "BLAS speed-up"],
        note=("Medians of interleaved rounds. Forward: weighted batch mean and "
              "standard deviation, normalisation, scale, shift, tanh. "
              "Backward: activation slope, the statistics' terms, the "
              "reductions for g and b (the kernel works in place on a copy of "
              "dA, included). Product: (n x 64) @ (64 x m)."),
        formats={c: "{:.0f}" for c in ("forward NumPy (us)",
                                       "forward kernel (us)",
                                       "backward NumPy (us)",
                                       "backward kernel (us)",
                                       "product BLAS (us)",
                                       "product numba loop (us)")}
        | {c: "{:.2f}" for c in ("forward speed-up", "backward speed-up",
                                  "BLAS speed-up")},
    )
    def measure(n, m):
        H = rng.randn(n, m)
        s = np.full(n, 1.0 / n)
        g, b = np.ones(m), np.zeros(m)
        Z, A = _numpy_bn_forward(H, s, g, b)
        sigma = np.sqrt(s @ (H - s @ H) ** 2)
        dA = rng.randn(n, m)
        A64, W64 = rng.randn(n, 64), rng.randn(64, m)
        return interleaved({
            "fn": lambda: _numpy_bn_forward(H, s, g, b),
            "fk": lambda: K.bn_forward(H, s, g, b, K.TANH, K.BN_EPS),
            "bn": lambda: _numpy_bn_backward(dA, A, Z, sigma, g, s),
            "bk": lambda: K.bn_backward(dA.copy(), A, Z, sigma, g, s, K.TANH),
            "pb": lambda: A64 @ W64,
            "pl": lambda: loop_matmul(A64, W64),
        }, repeat=50 if quick else 300, block=5)

    for n, m in [(200, 100), (2000, 50)]:
        res = measure(n, m)
        table.add(**{
            "block (n x m)": f"{n} x {m}",
            "forward NumPy (us)": 1e6 * res["fn"],
            "forward kernel (us)": 1e6 * res["fk"],
            "forward speed-up": res["fn"] / res["fk"],
            "backward NumPy (us)": 1e6 * res["bn"],
            "backward kernel (us)": 1e6 * res["bk"],
            "backward speed-up": res["bn"] / res["bk"],
            "product BLAS (us)": 1e6 * res["pb"],
            "product numba loop (us)": 1e6 * res["pl"],
            "BLAS speed-up": res["pl"] / res["pb"],
        })
    return table


def panel_table(quick=False):
    """Both libraries' MLPs at their defaults (``random_state=0`` only)."""
    from bench_defaults import classification_sets, compare, regression_sets

    table = Table(
        "MLPs at their defaults (random_state=0) against scikit-learn's",
        ["data", "rows", "sklearn", "sklearn s", "score", "warned",
         "skbnorm s", "score ", "warned ", "time ratio", "score diff",
         "epochs (sklearn, skbnorm)"],
        note=("score: test accuracy (classifiers) or R^2 (regressors); "
              "time ratio = skbnorm / scikit-learn, one fit after an untimed "
              "one; warned: the untimed fit raised a ConvergenceWarning."),
        formats={"time ratio": "{:.2f}", "score diff": "{:+.4f}"},
    )
    kinds = [
        (classification_sets(quick), "MLPClassifier()",
         functools.partial(MLPClassifier, random_state=0),
         functools.partial(NormalizedMLPClassifier, random_state=0)),
        (regression_sets(), "MLPRegressor()",
         functools.partial(MLPRegressor, random_state=0),
         functools.partial(NormalizedMLPRegressor, random_state=0)),
    ]
    for sets, theirs_name, theirs, ours in kinds:
        rows = compare(sets, [("sklearn", theirs), ("skbnorm", ours)],
                       repeats=1)
        by = {(r[0], r[1]): r for r in rows}
        for name, (Xa, *_rest) in sets.items():
            _, _, t_s, sc_s, w_s, e_s = by[name, "sklearn"]
            _, _, t_o, sc_o, w_o, e_o = by[name, "skbnorm"]
            table.add(**{
                "data": name, "rows": Xa.shape[0], "sklearn": theirs_name,
                "sklearn s": t_s, "score": sc_s,
                "warned": "yes" if w_s else "no", "skbnorm s": t_o,
                "score ": sc_o, "warned ": "yes" if w_o else "no",
                "time ratio": t_o / t_s, "score diff": sc_o - sc_s,
                "epochs (sklearn, skbnorm)":
                    f"{e_s[-1].n_iter_}, {e_o[-1].n_iter_}",
            })
    return table


def run(quick=False):
    panel = panel_table(quick)
    kernels = kernel_table(quick)
    tasks = _tasks()
    if quick:
        tasks = {"digits": tasks["digits"]}
    NormalizedMLPClassifier(max_iter=2).fit(*tasks["digits"][:2])  # warm
    table = Table(
        "MLP: NormalizedMLPClassifier(solver='bn') against MLPClassifier(adam)",
        ["task", "stopping", "skbnorm", "sklearn time (s)", "skbnorm time (s)",
         "time ratio", "sklearn accuracy", "skbnorm accuracy",
         "accuracy difference", "sklearn epochs", "skbnorm epochs"],
        note=("Seeds 0-2 on a9a, 0-4 on digits; times are medians over the "
              "seeds of the fit's wall time. "
              "time ratio = skbnorm / sklearn (below 1: skbnorm is faster); "
              "accuracy: mean (standard deviation) over the seeds; accuracy "
              "difference = skbnorm - sklearn, seed by seed: mean (its "
              "standard error)."),
        formats={"time ratio": "{:.2f}", "sklearn time (s)": "{:.2f}",
                 "skbnorm time (s)": "{:.2f}"},
    )
    for task, (X, y, Xt, yt) in tasks.items():
        # a9a's default-stopping sklearn fits take minutes each
        seeds = range(2 if quick else 3 if task == "a9a" else 5)
        for early in (False, True):
            runs = {"sklearn": []}
            for seed in seeds:
                kw = dict(COMMON, early_stopping=early, random_state=seed)
                runs["sklearn"].append(_fit(
                    lambda kw=kw: MLPClassifier(solver="adam", **kw),
                    X, y, Xt, yt))
                for name, extra in VARIANTS.items():
                    runs.setdefault(name, []).append(_fit(
                        lambda kw=kw, extra=extra: NormalizedMLPClassifier(
                            solver="bn", **kw, **extra),
                        X, y, Xt, yt))
                print(task, early, seed, {k: v[-1] for k, v in runs.items()},
                      file=sys.stderr, flush=True)
            t = {k: statistics.median(r[0] for r in v) for k, v in runs.items()}
            acc = {k: [r[1] for r in v] for k, v in runs.items()}
            ep = {k: statistics.median(r[2] for r in v) for k, v in runs.items()}
            for name in VARIANTS:
                diff = np.subtract(acc[name], acc["sklearn"])
                table.add(**{
                    "task": task,
                    "stopping": "validation (early_stopping)" if early
                    else "training loss",
                    "skbnorm": name,
                    "sklearn time (s)": t["sklearn"], "skbnorm time (s)": t[name],
                    "time ratio": t[name] / t["sklearn"],
                    "sklearn accuracy": _mean_sd(acc["sklearn"]),
                    "skbnorm accuracy": _mean_sd(acc[name]),
                    "accuracy difference": f"{diff.mean():+.4f} "
                    f"(se {diff.std(ddof=1) / np.sqrt(diff.size):.4f})",
                    "sklearn epochs": ep["sklearn"], "skbnorm epochs": ep[name],
                })
    return [kernels, table, panel]


if __name__ == "__main__":
    if "--kernels" in sys.argv:
        print(kernel_table().markdown())
        sys.exit()
    if "--panel" in sys.argv:
        print(panel_table().markdown())
        sys.exit()
    for tab in run(quick="--quick" in sys.argv):
        print(tab.markdown())
