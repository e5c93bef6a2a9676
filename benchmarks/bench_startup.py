"""Start-up and load: first fits cold and warm, kernel compile times, and two
fits started in two processes at once.

Every measurement runs in a fresh interpreter (``sys.executable -c ...``)
and times inside the child with ``time.perf_counter`` (interpreter start-up
excluded); children of the rows of a table alternate round by round and the
tables report medians.

- **cold / warm first fit** of each default linear estimator, dense and
  CSR, on breast_cancer (569 x 30): ``NUMBA_CACHE_DIR`` a new empty
  directory (every kernel the fit needs is compiled) or the directory a
  previous child filled. Next to it skglm's ``SparseLogisticRegression``
  (the numba-based scikit-learn-contrib GLM package, which caches nothing:
  every process compiles) and scikit-learn's ``LogisticRegression``.
- **baseline**: the same for the package as it was before the linear core
  was rebuilt (git revision :data:`BASELINE`, extracted with ``git
  archive`` into a temporary directory and imported from there), when this
  runs in a git checkout that has it.
- **compile time of each kernel**: numba's compile events during the cold
  first fit of ``NormalizedLogisticRegression()`` (outermost compilation of
  each function, callees included), now and at the baseline.
- **the main job's first run**: ``python -m skbnorm`` with an empty cache.
- **two processes**: an ``agd`` fit of 300 iterations on a9a alone, and
  started in two processes at the same time on the machine's cores; each
  process's time against the time alone, now and at the baseline (numba's
  OpenMP layer busy-waits between parallel regions; the package's pool
  sleeps).
"""

import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _harness import Table

ROOT = Path(__file__).resolve().parent.parent
#: the last revision before the linear core was rebuilt
BASELINE = "aa57770"
COLD_TARGET = 3.0
WARM_TARGET = 0.25
MAIN_JOB_TARGET = 15.0
LOAD_TARGET = 2.5

_FIT = """
import json, sys, time, warnings
t0 = time.perf_counter()
import numpy as np, scipy.sparse as sp
from sklearn.datasets import load_breast_cancer
X, y = load_breast_cancer(return_X_y=True)
kind, which = sys.argv[1], sys.argv[2]
if kind == "csr":
    X = sp.csr_matrix(X)
if which == "skglm":
    from skglm import SparseLogisticRegression as Est
    make = lambda: Est(alpha=1e-3)
elif which == "sklearn":
    from sklearn.linear_model import LogisticRegression as Est
    make = Est
else:
    import skbnorm
    Est = getattr(skbnorm, which)
    make = Est
    if which == "NormalizedLinearRegression":
        y = y.astype(float)
t_import = time.perf_counter() - t0
compiles = {}
try:
    from numba.core import event

    class Rec(event.Listener):
        stack = []

        def on_start(self, ev):
            self.stack.append((ev.data["dispatcher"].py_func.__qualname__,
                               time.perf_counter()))

        def on_end(self, ev):
            name, t = self.stack.pop()
            if not self.stack:  # outermost: callees are included
                compiles[name] = compiles.get(name, 0.0) + time.perf_counter() - t

    event.register("numba:compile", Rec())
except Exception:
    pass
with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    t0 = time.perf_counter(); make().fit(X, y); first = time.perf_counter() - t0
    t0 = time.perf_counter(); make().fit(X, y); second = time.perf_counter() - t0
print(json.dumps({"import": t_import, "first": first, "second": second,
                  "compiles": compiles}))
"""

_LOAD = """
import json, sys, time, warnings
import numpy as np
from skbnorm import NormalizedLogisticRegression
from skbnorm.datasets import load_a9a
X, y = load_a9a("train")
est = NormalizedLogisticRegression(solver="agd", max_iter=300, tol=0.0, **KW)
with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    est.fit(X, y)  # warm the kernels
    start_at = float(sys.argv[1])
    while time.time() < start_at:
        time.sleep(0.001)
    t0 = time.perf_counter(); est.fit(X, y); dt = time.perf_counter() - t0
print(json.dumps({"seconds": dt}))
"""


def _env(cache):
    return dict(os.environ, NUMBA_CACHE_DIR=str(cache))


def child(code, args=(), env=None, timeout=600, cwd=ROOT):
    """Run ``code`` in a fresh interpreter; the JSON it prints last.

    ``cwd`` comes first on the child's ``sys.path``: the baseline's tree is
    imported by running there.
    """
    out = subprocess.run([sys.executable, "-c", code, *args], cwd=cwd, env=env,
                         capture_output=True, text=True, check=True,
                         timeout=timeout)
    return json.loads(out.stdout.strip().splitlines()[-1])


def baseline_tree():
    """A temporary directory holding the baseline's ``skbnorm`` package, or None."""
    tmp = Path(tempfile.mkdtemp(prefix="skbnorm-baseline-"))
    try:
        archive = subprocess.run(["git", "archive", BASELINE, "skbnorm"], cwd=ROOT,
                                 capture_output=True, check=True).stdout
        subprocess.run(["tar", "-x", "-C", str(tmp)], input=archive, check=True)
        return tmp
    except (OSError, subprocess.CalledProcessError):
        shutil.rmtree(tmp, ignore_errors=True)
        return None


def _first_fits(cases, rounds):
    """Cold and warm first fits of each case, alternating; medians."""
    results = {name: {"cold": [], "warm": [], "second": [], "compiles": None}
               for name in cases}
    for _ in range(rounds):
        for name, (kind, which, pythonpath) in cases.items():
            cache = Path(tempfile.mkdtemp(prefix="skbnorm-numba-cache-"))
            try:
                env = _env(cache)
                cwd = pythonpath or ROOT
                cold = child(_FIT, (kind, which), env, cwd=cwd)
                warm = child(_FIT, (kind, which), env, cwd=cwd)
            finally:
                shutil.rmtree(cache, ignore_errors=True)
            r = results[name]
            r["cold"].append(cold["first"])
            r["warm"].append(warm["first"])
            r["second"].append(warm["second"])
            r["compiles"] = r["compiles"] or cold["compiles"]
    med = statistics.median
    return {name: {"cold": med(r["cold"]), "warm": med(r["warm"]),
                   "second": med(r["second"]), "compiles": r["compiles"]}
            for name, r in results.items()}


def _two_processes(pythonpath, kw, rounds):
    """Seconds of the fit alone, and of each of two started together."""
    cache = Path(tempfile.mkdtemp(prefix="skbnorm-numba-cache-"))
    code = _LOAD.replace("**KW", kw)
    try:
        env = _env(cache)
        cwd = pythonpath or ROOT
        child(code, (str(time.time()),), env, cwd=cwd)  # compile into the cache
        alone, together = [], []
        for _ in range(rounds):
            alone.append(child(code, (str(time.time() + 2.0),), env,
                               cwd=cwd)["seconds"])
            start_at = str(time.time() + 4.0)
            procs = [subprocess.Popen([sys.executable, "-c", code, start_at],
                                      cwd=cwd, env=env, stdout=subprocess.PIPE,
                                      text=True) for _ in range(2)]
            outs = [p.communicate(timeout=600)[0] for p in procs]
            together += [json.loads(o.strip().splitlines()[-1])["seconds"]
                         for o in outs]
    finally:
        shutil.rmtree(cache, ignore_errors=True)
    return statistics.median(alone), statistics.median(together), max(together)


def run(quick):
    rounds = 1 if quick else 3
    base = baseline_tree()
    estimators = ["NormalizedLogisticRegression", "NormalizedLinearRegression",
                  "HalfspaceClassifier"]
    cases = {}
    for which in estimators:
        for kind in ("dense", "csr"):
            cases[f"{which}() {kind}"] = (kind, which, None)
    try:
        import skglm  # noqa: F401 (a benchmark-only dependency)

        for kind in ("dense", "csr"):
            cases[f"skglm SparseLogisticRegression() {kind}"] = (kind, "skglm",
                                                                 None)
    except ImportError:
        pass
    cases["scikit-learn LogisticRegression() dense"] = ("dense", "sklearn", None)
    if base is not None:
        for kind in ("dense", "csr"):
            cases[f"baseline {BASELINE}: NormalizedLogisticRegression() {kind}"] \
                = (kind, "NormalizedLogisticRegression", base)
    fits = _first_fits(cases, rounds)
    skglm_cold = {kind: fits[f"skglm SparseLogisticRegression() {kind}"]["cold"]
                  for kind in ("dense", "csr")
                  if f"skglm SparseLogisticRegression() {kind}" in fits}
    first = Table(
        "First fit in a fresh process: cold and warm numba cache",
        ["estimator", "cold first fit s", "warm first fit s", "second fit s",
         "cold vs skglm's cold", "within targets"],
        note=(f"breast_cancer (569 x 30), each estimator at its defaults "
              f"(skglm: SparseLogisticRegression(alpha=1e-3)); medians of "
              f"{rounds} rounds. Targets: cold <= {COLD_TARGET} s and <= 0.5x "
              f"skglm's cold fit, warm <= {WARM_TARGET} s. 'baseline': the "
              f"package at revision {BASELINE}, before the linear core was "
              "rebuilt."),
    )
    for name, r in fits.items():
        kind = name.rsplit(" ", 1)[1]
        ratio = (r["cold"] / skglm_cold[kind] if kind in skglm_cold
                 else float("nan"))
        ok = ""
        if name.split("(")[0] in estimators:
            ok = (r["cold"] <= COLD_TARGET and r["warm"] <= WARM_TARGET
                  and (ratio <= 0.5 if ratio == ratio else True))
        first.add(**{"estimator": name, "cold first fit s": r["cold"],
                     "warm first fit s": r["warm"], "second fit s": r["second"],
                     "cold vs skglm's cold": ratio, "within targets": ok})
    tables = [first]

    kern = Table(
        "Compile time of each kernel (its first call), cold first fit of "
        "NormalizedLogisticRegression() on dense breast_cancer",
        ["kernel", "now s", "baseline s"],
        note=("numba's compile events, outermost compilation of each function "
              "(the callees it compiles are included in its time), from the "
              "first round's cold fit."),
    )
    now = fits["NormalizedLogisticRegression() dense"]["compiles"]
    then = {}
    key = f"baseline {BASELINE}: NormalizedLogisticRegression() dense"
    if key in fits:
        then = fits[key]["compiles"]
    for name in sorted(set(now) | set(then),
                       key=lambda n: -max(now.get(n, 0), then.get(n, 0))):
        kern.add(kernel=name, **{"now s": now.get(name, float("nan")),
                                 "baseline s": then.get(name, float("nan"))})
    kern.add(kernel="total", **{"now s": sum(now.values()),
                                "baseline s": sum(then.values()) if then
                                else float("nan")})
    tables.append(kern)

    if not quick:
        cache = Path(tempfile.mkdtemp(prefix="skbnorm-numba-cache-"))
        try:
            t0 = time.perf_counter()
            subprocess.run([sys.executable, "-m", "skbnorm", "--quiet"],
                           cwd=ROOT, env=_env(cache), capture_output=True,
                           check=True, timeout=1200)
            main_first = time.perf_counter() - t0
            t0 = time.perf_counter()
            subprocess.run([sys.executable, "-m", "skbnorm", "--quiet"],
                           cwd=ROOT, env=_env(cache), capture_output=True,
                           check=True, timeout=1200)
            main_second = time.perf_counter() - t0
        finally:
            shutil.rmtree(cache, ignore_errors=True)
        job = Table("The main job: python -m skbnorm, wall time of the process",
                    ["run", "seconds", "target", "within target"])
        job.add(run="first (empty numba cache)", seconds=main_first,
                target=f"<= {MAIN_JOB_TARGET}",
                **{"within target": main_first <= MAIN_JOB_TARGET})
        job.add(run="second (kernels cached)", seconds=main_second)
        tables.append(job)

    load = Table(
        "Two fits started in two processes at once (agd, 300 iterations, a9a)",
        ["code", "alone s", "each of two s (median)", "worst of two s",
         "slow-down", "target", "within target"],
        note=("Each process warms its kernels, then waits for a common start "
              "time; 'slow-down' is the median time of the two against the "
              "time alone, on all the machine's cores (sharing them costs "
              "about 2x at best)."),
    )
    variants = [("now", None, "")]
    if base is not None:
        variants.append((f"baseline {BASELINE}", base, ""))
    for label, path, kw in variants:
        alone, two, worst = _two_processes(path, kw or "", 1 if quick else 3)
        load.add(code=label, **{"alone s": alone, "each of two s (median)": two,
                                "worst of two s": worst,
                                "slow-down": two / alone,
                                "target": f"<= {LOAD_TARGET}" if label == "now"
                                else "",
                                "within target": (two / alone <= LOAD_TARGET
                                                  if label == "now" else "")})
    tables.append(load)
    if base is not None:
        shutil.rmtree(base, ignore_errors=True)
    return tables


if __name__ == "__main__":
    for t in run("--quick" in sys.argv):
        print(t.markdown(), end="\n\n")
