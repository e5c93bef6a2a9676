"""Per-iteration cost of each solver: now against the baseline, and against
the NumPy/scipy pair ``X @ w``, ``X.T @ r``.

An iteration of a first-order method on a linear model has to read ``X``
twice in the textbook form; NumPy (OpenBLAS ``gemv``) and scipy (CSR
matvecs) on the same array are the reference. Each measurement runs in a
fresh interpreter with the kernels already in numba's cache: the solver's
driver on the implicit-centering problem of the a9a tests (logistic loss,
``C=np.inf``, centered, no intercept), a warm-up of 20 iterations, then the
median time per iteration of 5 blocks of ``ITERS`` iterations. The rows of
the package as it is now and of the baseline revision (before the linear
core was rebuilt: OpenMP ``prange`` kernels, the loop inside numba) alternate
round by round; the table reports the medians and the ratio now/baseline.
"""

import json
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from _harness import Table
from bench_startup import BASELINE, ROOT, baseline_tree

SOLVERS = ("gd", "agd", "bn", "wn", "gdnp", "gdnp-subspace")
ITERS = 40
TARGET = 1.05

_CHILD = r"""
import json, sys, time
import numpy as np
from skbnorm.datasets import load_a9a
design, solver, iters = sys.argv[1], sys.argv[2], int(sys.argv[3])
if design.startswith("a9a"):
    X, y = load_a9a()
    if design == "a9a-dense":
        X = np.ascontiguousarray(X.toarray())
else:
    rng = np.random.default_rng(0)
    X = rng.standard_normal((100_000, 400))
    y = np.where(X @ rng.standard_normal(400) > 0, 1.0, -1.0)
n = X.shape[0]
s = np.full(n, 1.0 / n)
xbar = np.asarray(X.T @ s).ravel()
name, *step = solver.split("-")
step = "subspace" if step else "paper"
try:
    from skbnorm.objectives import Design
    from skbnorm.solvers import Problem, SolverOptions, make_solver
    new = True
except ImportError:
    new = False
if new:
    p = Problem(Design(X, xbar), y, s, 1, 0.0, False, 0.0)
    drv = make_solver(name, p, SolverOptions(direction_step=step,
                                             metric="identity"))
    drv.start(None, 0.0, np.random.RandomState(0))

    def run(k):
        for _ in range(k):
            drv.evaluate()
            drv.step()
else:
    from skbnorm.objectives import LOSS_CODES, as_design
    from skbnorm.solvers import Problem, build
    p = Problem(as_design(X), xbar, y, s, 1, 0.0, False, 0.0, 10**9)
    drv = build(name, p, p.random_direction(np.random.RandomState(0)), 1.0, 0.0,
                direction_step=step)
    hist = [np.full(10**6, np.nan) for _ in range(3)]
    state = {"k": 0}

    def run(k):
        drv.run(state["k"], state["k"] + k, *hist)
        state["k"] += k
run(20)
times = []
for _ in range(5):
    t0 = time.perf_counter()
    run(iters)
    times.append((time.perf_counter() - t0) / iters)
pair = []
w = np.random.default_rng(1).standard_normal(X.shape[1])
r = np.random.default_rng(2).standard_normal(n)
for _ in range(5):
    t0 = time.perf_counter()
    for _ in range(10):
        X @ w
        X.T @ r
    pair.append((time.perf_counter() - t0) / 10)
print(json.dumps({"ms": 1e3 * sorted(times)[2], "pair": 1e3 * sorted(pair)[2]}))
"""


def _child(cwd, cache, design, solver, iters):
    env = dict(__import__("os").environ, NUMBA_CACHE_DIR=str(cache))
    out = subprocess.run([sys.executable, "-c", _CHILD, design, solver,
                          str(iters)], cwd=cwd, env=env, capture_output=True,
                         text=True, check=True, timeout=1800)
    return json.loads(out.stdout.strip().splitlines()[-1])


def run(quick):
    base = baseline_tree()
    designs = ["a9a-csr", "a9a-dense"] + ([] if quick else ["dense-100000x400"])
    rounds = 1 if quick else 3
    trees = {"now": ROOT}
    if base is not None:
        trees[f"baseline {BASELINE}"] = base
    caches = {label: Path(tempfile.mkdtemp(prefix="skbnorm-numba-cache-"))
              for label in trees}
    table = Table(
        "Time per iteration, now against the baseline "
        f"(revision {BASELINE}), and against `X @ w` + `X.T @ r`",
        ["design", "solver", "now ms/iter", "baseline ms/iter",
         "now / baseline", "now / pair", "within 5%"],
        note=("medians of rounds of fresh processes, alternating now and "
              "baseline; each process times 5 blocks of "
              f"{ITERS} iterations after 20 untimed ones. 'pair' is X @ w plus "
              "X.T @ r with NumPy/scipy on the same array. gdnp is Kohler et "
              "al.'s step, gdnp-subspace the subspace step along grad_w f "
              "(metric='identity'), the same algorithm at both revisions; "
              "all threads numba and OpenBLAS have."),
    )
    try:
        for design in designs:
            for solver in SOLVERS:
                iters = ITERS if design != "dense-100000x400" else 10
                res = {label: [] for label in trees}
                pair = []
                for label, cwd in trees.items():  # compile into the caches
                    _child(cwd, caches[label], design, solver, 2)
                for _ in range(rounds):
                    for label, cwd in trees.items():
                        out = _child(cwd, caches[label], design, solver, iters)
                        res[label].append(out["ms"])
                        pair.append(out["pair"])
                now = statistics.median(res["now"])
                then = (statistics.median(res[f"baseline {BASELINE}"])
                        if base is not None else float("nan"))
                table.add(design=design, solver=solver,
                          **{"now ms/iter": now, "baseline ms/iter": then,
                             "now / baseline": now / then,
                             "now / pair": now / statistics.median(pair),
                             "within 5%": now / then <= TARGET
                             if then == then else ""})
    finally:
        for cache in caches.values():
            shutil.rmtree(cache, ignore_errors=True)
        if base is not None:
            shutil.rmtree(base, ignore_errors=True)
    return [table]


if __name__ == "__main__":
    for t in run("--quick" in sys.argv):
        print(t.markdown(), end="\n\n")
