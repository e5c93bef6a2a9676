"""Peak memory of a fit: the input plus O(n + d), never a copy of X.

For sparse a9a-like data (n = 1e5 and 1e6) and a dense 1e5 x 400 array, the
extra memory a ``NormalizedLogisticRegression`` fit needs on top of its
input, measured two ways:

- tracemalloc, in this process: the peak of the traced allocations during
  ``fit`` (NumPy registers its buffers with tracemalloc; numba's own
  allocations inside the kernels are not seen);
- the peak resident set size, in a fresh subprocess: its high-water mark
  before and after ``fit``, with the data generated (and the kernels loaded by
  a small fit) before the first reading. On Linux the mark is reset through
  ``/proc/self/clear_refs`` first (after ``malloc_trim``), so that temporaries
  of the data generation do not hide the fit's peak, and read as ``VmHWM``
  (``ru_maxrss`` cannot be reset: it keeps the peak seen when a thread
  exited); elsewhere ``ru_maxrss`` is used and may understate the fit.
"""

import gc
import json
import subprocess
import sys
import tracemalloc
import warnings
from pathlib import Path

import numpy as np
from _harness import Table, make_dense, make_sparse_a9a_like
from sklearn.exceptions import ConvergenceWarning

from skbnorm import NormalizedLogisticRegression

HERE = Path(__file__).resolve().parent
SOLVERS = ("agd", "gdnp", "gdnp-subspace")
FULL_CASES = (("sparse", 100_000, 123), ("sparse", 1_000_000, 123),
              ("dense", 100_000, 400))
QUICK_CASES = (("sparse", 100_000, 123), ("dense", 100_000, 400))


def make_data(kind, n, d):
    if kind == "sparse":
        return make_sparse_a9a_like(n, seed=0)
    return make_dense(n, d, seed=0)


def input_bytes(X, y):
    if hasattr(X, "indptr"):
        nbytes = X.data.nbytes + X.indices.nbytes + X.indptr.nbytes
    else:
        nbytes = X.nbytes
    return nbytes + y.nbytes


def estimator(solver, max_iter):
    """``"gdnp"`` is Kohler et al.'s step (``direction_step="paper"``),
    ``"gdnp-subspace"`` the subspace step along ``grad_w f`` (identity
    metric)."""
    options = {}
    if solver == "gdnp":
        options = {"direction_step": "paper", "metric": "identity"}
    elif solver == "gdnp-subspace":
        solver, options = "gdnp", {"direction_step": "subspace",
                                   "metric": "identity"}
    return NormalizedLogisticRegression(solver=solver, max_iter=max_iter, C=np.inf,
                                        tol=0.0, random_state=0, **options)


def warm_up(solver, X, y):
    """Load the kernels for this kind of input with a small fit."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        estimator(solver, 3).fit(X[:200], y[:200])


def traced_extra(solver, max_iter, X, y):
    """Peak traced bytes allocated during ``fit`` above what was live before."""
    warm_up(solver, X, y)
    est = estimator(solver, max_iter)
    gc.collect()
    tracemalloc.start()
    try:
        base = tracemalloc.get_traced_memory()[0]
        tracemalloc.reset_peak()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            est.fit(X, y)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    return peak - base


_CHILD = r"""
import gc, json, resource, sys, warnings
sys.path.insert(0, sys.argv[1])
cfg = json.loads(sys.argv[2])
import bench_memory as bm
X, y = bm.make_data(cfg["kind"], cfg["n"], cfg["d"])
bm.warm_up(cfg["solver"], X, y)
est = bm.estimator(cfg["solver"], cfg["max_iter"])
gc.collect()
try:  # hand freed heap pages back, or the fit reuses them unseen
    import ctypes
    ctypes.CDLL("libc.so.6").malloc_trim(0)
except (OSError, AttributeError):
    pass
try:
    with open("/proc/self/clear_refs", "w") as fh:
        fh.write("5")
    reset = True
except OSError:
    reset = False


def peak():
    # VmHWM: the high-water mark of this address space, which clear_refs
    # resets; ru_maxrss also keeps the peak recorded when any thread exited
    if reset:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    unit = 1 if sys.platform == "darwin" else 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * unit


before = peak()
with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    est.fit(X, y)
after = peak()
print(json.dumps({"extra": after - before, "reset": reset}))
"""


def rss_extra(solver, max_iter, kind, n, d):
    """Peak RSS increase during ``fit`` in a fresh process (bytes), reset flag."""
    cfg = {"kind": kind, "n": n, "d": d, "solver": solver, "max_iter": max_iter}
    out = subprocess.run([sys.executable, "-c", _CHILD, str(HERE), json.dumps(cfg)],
                         capture_output=True, text=True, check=True)
    res = json.loads(out.stdout.strip().splitlines()[-1])
    return res["extra"], res["reset"]


def run(quick):
    cases = QUICK_CASES if quick else FULL_CASES
    max_iter = 10 if quick else 30
    table = Table(
        "Peak memory during fit (NormalizedLogisticRegression)",
        ["data", "solver", "n", "d", "input MB", "traced extra MB",
         "traced extra/(n+d) B", "traced extra/input", "RSS extra MB",
         "RSS extra/(n+d) B", "RSS extra/input"],
        note=(
            f"fit with max_iter={max_iter}, C=np.inf, tol=0, fit_intercept=True "
            "(gdnp: direction_step='paper'; gdnp-subspace: metric='identity'); "
            "input = X "
            "(CSR arrays or dense buffer) + y, float64. traced: tracemalloc peak "
            "during fit in this process (NumPy allocations; numba-internal "
            "allocations inside the kernels are not traced). RSS: increase of "
            "the peak resident set size (VmHWM, reset before the fit) during "
            "fit, in a fresh subprocess with the data generated and the kernels "
            "loaded before, so it covers numba's allocations too (page "
            "granularity, so small values are noisy). Bounded extra/(n+d) "
            "across n means O(n + d) memory; an extra/input near 1 would mean "
            "a copy of X."
        ),
    )
    reset_ok = True
    for kind, n, d in cases:
        X, y = make_data(kind, n, d)
        inp = input_bytes(X, y)
        for solver in SOLVERS:
            traced = traced_extra(solver, max_iter, X, y)
            rss, reset = rss_extra(solver, max_iter, kind, n, d)
            reset_ok &= reset
            table.add(**{
                "data": kind, "solver": solver, "n": n, "d": d,
                "input MB": inp / 1e6, "traced extra MB": traced / 1e6,
                "traced extra/(n+d) B": traced / (n + d),
                "traced extra/input": traced / inp,
                "RSS extra MB": rss / 1e6, "RSS extra/(n+d) B": rss / (n + d),
                "RSS extra/input": rss / inp})
        del X, y
        gc.collect()
    if not reset_ok:
        table.note += (" The peak RSS could not be reset here (no "
                       "/proc/self/clear_refs): RSS extra may be understated.")
    return [table]


if __name__ == "__main__":
    for t in run("--quick" in sys.argv):
        print(t.markdown(), end="\n\n")
