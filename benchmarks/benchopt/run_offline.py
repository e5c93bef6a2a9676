"""Offline replica of benchopt's ``benchmark_logreg_l2``: skbnorm against sklearn.

What it does
------------
1. Writes, into a temporary directory, a minimal benchopt benchmark
   equivalent to the community benchmark
   https://github.com/benchopt/benchmark_logreg_l2 (its files are our own,
   written here, not copied from that repository):

   - ``objective.py``: "L2 Logistic Regression",
     ``F(beta) = sum_i log(1 + exp(-y_i x_i^T beta)) + lmbd / 2 ||beta||^2``,
     no intercept, ``lmbd`` in {1, 0.01};
   - ``datasets/simulated.py``: "Simulated", ``(n_samples, n_features)`` in
     {(200, 500), (1000, 10), (100000, 400)}: ``rng = RandomState(42)``,
     ``beta = rng.randn(d)``, ``X = rng.randn(n, d)``, ``y = sign(X beta)``,
     then a test split ``X_test`` drawn the same way (linearly separable
     data: for small ``lmbd`` the optimum has a large norm);
   - ``datasets/a9a.py``: "a9a", the train split shipped with skbnorm
     (sparse CSR, 32561 x 123, ``y`` in {-1, +1});
   - ``solvers/skbnorm.py``: a copy of ``benchmarks/benchopt/solvers/
     skbnorm.py`` (variants ``gdnp`` -- the default solver --, ``gdnp-paper``
     and ``agd``);
   - ``solvers/sklearn.py``: scikit-learn's ``LogisticRegression`` with
     ``C = 1 / lmbd``, ``fit_intercept=False``, ``tol=1e-15`` and
     ``max_iter = n_iter``, solvers lbfgs, newton-cg and newton-cholesky.

2. Runs ``python -m benchopt run <dir> --local`` in the current environment
   (``--local`` is benchopt's default: no conda environment is created and
   nothing is installed; benchopt only checks that the files import), with
   ``--no-plot``, and reads the parquet file it writes. Every point of a
   benchopt curve is a fresh fit with ``n_iter`` on the grid 0, 1, 2, 3, 4,
   6, 9, 13, 19, 28, ... (``n -> max(n + 1, int(1.5 n))``), timed around
   ``Solver.run`` only; a solver stops at benchopt's default criterion
   (relative objective decrease below 1e-10 three times in a row), after
   ``--max-runs`` points or after ``--timeout`` seconds.

   If benchopt is not installed or its run fails, the script falls back to
   the same protocol without benchopt (``--protocol fallback`` forces it):
   the same generated files are imported with a minimal stand-in for the
   three benchopt base classes, and every solver is fitted afresh for each
   ``n_iter`` of the same grid, ``Solver.run`` timed with
   ``time.perf_counter``, with the same stopping rule, ``--max-runs`` and
   ``--timeout``. The output says which protocol produced the tables.

3. Prints markdown tables. For every cell (dataset x lmbd) ``F*`` is the
   smallest objective any solver reached in the run and ``F_0`` the largest
   objective at ``n_iter = 0``. Two suboptimalities are reported:

   - ``(F - F*) / (F_0 - F*)``, the relative suboptimality of benchopt's
     plots (normalised by the initial gap);
   - ``(F - F*) / F*``, relative to the optimal value. On the separable
     simulated data ``F*`` is much smaller than ``F_0`` (about 23 against
     693 for 1000 x 10, lmbd = 0.01), so the same threshold asks for much
     more accuracy in this one.

   For each solver: the time (s) at which its curve, drawn against time,
   first gets to a suboptimality of 1e-4, 1e-6 and 1e-8 (the shortest of its
   fresh fits at or below the threshold; "--" if none), then, per cell, the
   ratio of skbnorm's default solver (``skbnorm[gdnp]``) time to the
   fastest scikit-learn solver's at each threshold (< 1: skbnorm faster),
   and the median ratio over the cells.

How to run
----------
From the repository root::

    pip install -e ".[bench]"                  # skbnorm + benchopt + pyarrow
    python benchmarks/benchopt/run_offline.py  # all cells (long: up to ~1 h)
    python benchmarks/benchopt/run_offline.py --quick --max-runs 20 --timeout 10
    python benchmarks/benchopt/run_offline.py --json out.json --keep bench_dir

``--quick`` keeps the small cells (Simulated 1000 x 10 and 200 x 500, both
lmbd); the full run adds Simulated 100000 x 400 (0.64 GB of dense data) and
a9a. Timings are wall-clock times of single fits (``--repetitions`` to take
medians over several), so they are only as good as the machine is quiet.
"""

import argparse
import importlib.util
import itertools
import json
import math
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import types
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
SKBNORM_SOLVER_FILE = HERE / "solvers" / "skbnorm.py"

SIMULATED_FULL = [(200, 500), (1000, 10), (100_000, 400)]
SIMULATED_QUICK = [(1000, 10), (200, 500)]
LMBDS = [1.0, 0.01]
THRESHOLDS = (1e-4, 1e-6, 1e-8)
TH_NAMES = {th: f"1e{round(math.log10(th))}" for th in THRESHOLDS}  # "1e-4"
SKBNORM_DEFAULT = "skbnorm[gdnp]"
SKLEARN_PREFIX = "sklearn["

# benchopt's defaults for the 'iteration' sampling strategy (SufficientProgress
# criterion): grid factor, its increase on a flat curve, eps and patience
RHO, RHO_INC, EPS, PATIENCE = 1.5, 1.2, 1e-10, 3

# ---------------------------------------------------------------------------
# the generated benchmark
# ---------------------------------------------------------------------------

OBJECTIVE_PY = '''\
"""L2-regularised logistic regression, no intercept (written by skbnorm's
benchmarks/benchopt/run_offline.py).

F(beta) = sum_i log(1 + exp(-y_i x_i^T beta)) + lmbd / 2 ||beta||^2,
y in {-1, +1}.
"""
from benchopt import BaseObjective

import numpy as np


def l2_logistic_loss(X, y, lmbd, beta):
    beta = np.asarray(beta, dtype=float).ravel()
    margins = y * np.asarray(X @ beta).ravel()
    # log(1 + exp(-m)) without overflow for very negative margins
    return float(np.logaddexp(0.0, -margins).sum() + 0.5 * lmbd * beta @ beta)


class Objective(BaseObjective):
    name = "L2 Logistic Regression"
    min_benchopt_version = "1.7"

    # benchopt sets every parameter as an attribute (self.lmbd); no __init__
    # here: benchopt >= 1.10 needs its base class's __init__ to run
    parameters = {"lmbd": LMBDS}

    def set_data(self, X, y, X_test=None, y_test=None):
        if set(np.unique(y)) != {-1, 1}:
            raise ValueError("the labels must be -1 and +1")
        self.X, self.y = X, y
        self.X_test, self.y_test = X_test, y_test

    def get_one_result(self):
        return dict(beta=np.zeros(self.X.shape[1]))

    def evaluate_result(self, beta):
        out = dict(value=l2_logistic_loss(self.X, self.y, self.lmbd, beta))
        if self.X_test is not None:
            out["test_loss"] = l2_logistic_loss(
                self.X_test, self.y_test, self.lmbd, beta)
        return out

    def get_objective(self):
        return dict(X=self.X, y=self.y, lmbd=self.lmbd)
'''

SIMULATED_PY = '''\
"""Gaussian design, labels given by the sign of a Gaussian linear model
(linearly separable), written by skbnorm's benchmarks/benchopt/run_offline.py.
"""
from benchopt import BaseDataset

import numpy as np


class Dataset(BaseDataset):
    name = "Simulated"

    # benchopt sets the parameters as attributes (self.n_samples, ...)
    parameters = {"n_samples, n_features": CELLS}
    random_state = 42

    def get_data(self):
        rng = np.random.RandomState(self.random_state)
        n, d = self.n_samples, self.n_features
        beta = rng.randn(d)
        X = rng.randn(n, d)
        y = np.sign(X @ beta)
        X_test = rng.randn(n, d)
        y_test = np.sign(X_test @ beta)
        return dict(X=X, y=y, X_test=X_test, y_test=y_test)
'''

A9A_PY = '''\
"""a9a (LIBSVM's Adult), the train split shipped with skbnorm: sparse CSR,
32561 x 123, y in {-1, +1}. Written by skbnorm's
benchmarks/benchopt/run_offline.py.
"""
from benchopt import BaseDataset

import numpy as np
from skbnorm.datasets import load_a9a


class Dataset(BaseDataset):
    name = "a9a"

    install_cmd = "conda"
    requirements = ["pip::skbnorm"]

    def get_data(self):
        X, y = load_a9a("train")
        return dict(X=X, y=np.where(y > 0, 1.0, -1.0))
'''

SKLEARN_PY = '''\
"""scikit-learn's LogisticRegression, written by skbnorm's
benchmarks/benchopt/run_offline.py: C = 1 / lmbd, no intercept, tol=1e-15,
max_iter = n_iter (the default L2 penalty; ``penalty`` is deprecated in
scikit-learn >= 1.8 and not passed).
"""
import warnings

from benchopt import BaseSolver

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression


class Solver(BaseSolver):
    name = "sklearn"

    install_cmd = "conda"
    requirements = ["scikit-learn"]

    parameters = {"solver": ["lbfgs", "newton-cg", "newton-cholesky"]}
    parameter_template = "{solver}"

    sampling_strategy = "iteration"

    def set_objective(self, X, y, lmbd):
        self.X, self.y, self.lmbd = X, y, lmbd
        warnings.filterwarnings("ignore", category=ConvergenceWarning)
        warnings.filterwarnings("ignore", category=UserWarning,
                                message="Line Search failed")
        # scipy's LineSearchWarning, raised inside newton-cg near the optimum
        warnings.filterwarnings("ignore",
                                message="The line search algorithm")
        self.clf = LogisticRegression(
            solver=self.solver, C=1 / self.lmbd, fit_intercept=False,
            tol=1e-15)

    def run(self, n_iter):
        self.clf.set_params(max_iter=n_iter)
        self.clf.fit(self.X, self.y)

    def get_result(self):
        return dict(beta=np.asarray(self.clf.coef_, dtype=float).ravel())
'''


def write_benchmark(root, cells, with_a9a):
    """Write the benchmark folder ``root``; returns it as a Path."""
    root = Path(root)
    (root / "datasets").mkdir(parents=True, exist_ok=True)
    (root / "solvers").mkdir(exist_ok=True)
    (root / "objective.py").write_text(
        OBJECTIVE_PY.replace("LMBDS", repr(LMBDS)))
    (root / "datasets" / "simulated.py").write_text(
        SIMULATED_PY.replace("CELLS", repr([tuple(c) for c in cells])))
    if with_a9a:
        (root / "datasets" / "a9a.py").write_text(A9A_PY)
    (root / "solvers" / "sklearn.py").write_text(SKLEARN_PY)
    shutil.copyfile(SKBNORM_SOLVER_FILE, root / "solvers" / "skbnorm.py")
    return root


# ---------------------------------------------------------------------------
# protocol 1: benchopt
# ---------------------------------------------------------------------------

def benchopt_version():
    try:
        from importlib.metadata import version

        return version("benchopt")
    except Exception:
        return None


def run_benchopt(root, args):
    """Run benchopt on ``root``; returns a list of records (dicts)."""
    out = Path(root) / "outputs" / "results.parquet"
    cmd = [
        sys.executable, "-m", "benchopt", "run", str(root), "--local",
        "--no-plot", "--no-display", "--no-html",
        "--max-runs", str(args.max_runs),
        "--n-repetitions", str(args.repetitions),
        "--timeout", str(args.timeout),
        "--output", str(out),
    ]
    print("$ " + " ".join(cmd), flush=True)
    stdout = subprocess.DEVNULL if args.quiet else None
    proc = subprocess.run(cmd, stdout=stdout)
    if not out.exists():
        found = sorted((Path(root) / "outputs").glob("*.parquet"))
        if not found:
            raise RuntimeError(
                f"benchopt exited with status {proc.returncode} and wrote no "
                "parquet file")
        out = found[-1]
    if proc.returncode != 0:
        print(f"WARNING: benchopt exited with status {proc.returncode}: some "
              "runs failed (see its output above); tabulating the others",
              flush=True)
    import pandas as pd

    df = pd.read_parquet(out)
    records = []
    for row in df.to_dict("records"):
        records.append(dict(
            dataset=str(row["dataset_name"]),
            objective=str(row["objective_name"]),
            solver=str(row["solver_name"]),
            rep=int(row.get("idx_rep", 0) or 0),
            n_iter=int(row["stop_val"]),
            time=float(row["time"]),
            value=float(row["objective_value"]),
        ))
    return records


# ---------------------------------------------------------------------------
# protocol 2: the same without benchopt
# ---------------------------------------------------------------------------

def _param_grid(parameters):
    """benchopt's expansion of a ``parameters`` dict (keys may be "a, b")."""
    keys = list(parameters)
    for values in itertools.product(*(parameters[k] for k in keys)):
        params = {}
        for key, value in zip(keys, values, strict=True):
            names = [k.strip() for k in key.split(",")]
            if len(names) > 1:
                params.update(zip(names, value, strict=True))
            else:
                params[names[0]] = value
        yield params


def _label(cls, params):
    """benchopt's name of a parametrized instance."""
    if not params:
        return cls.name
    template = getattr(cls, "parameter_template", None)
    if template is not None:
        inner = template.format(**params)
    else:
        inner = ",".join(f"{k}={params[k]}" for k in sorted(params))
    return f"{cls.name}[{inner}]"


def _stand_in_benchopt():
    """A module with the three base classes the generated files use."""
    mod = types.ModuleType("benchopt")

    class _Base:
        parameters = {}

        def __init__(self, **params):
            for key, value in params.items():
                setattr(self, key, value)

    class BaseSolver(_Base):
        sampling_strategy = "iteration"

        def skip(self, **objective_dict):
            return False, None

        def run_once(self, stop_val=1):
            self.run(stop_val)

        def warm_up(self):
            pass

    class BaseDataset(_Base):
        pass

    class BaseObjective(_Base):
        pass

    mod.BaseSolver, mod.BaseDataset = BaseSolver, BaseDataset
    mod.BaseObjective = BaseObjective
    return mod


def _load(path, stand_in):
    saved = sys.modules.get("benchopt")
    sys.modules["benchopt"] = stand_in
    try:
        spec = importlib.util.spec_from_file_location(
            f"_bench_{path.parent.name}_{path.stem}", path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
    finally:
        if saved is None:
            del sys.modules["benchopt"]
        else:
            sys.modules["benchopt"] = saved
    return module


def _instances(cls):
    for params in _param_grid(getattr(cls, "parameters", {}) or {}):
        obj = cls(**params)
        for key, value in params.items():
            setattr(obj, key, value)
        yield _label(cls, params), obj


def _converged(deltas):
    """benchopt's SufficientProgressCriterion on the list of decreases."""
    return len(deltas) >= 1 and max(deltas[-PATIENCE:]) <= EPS


def run_fallback(root, args):
    """The benchopt protocol without benchopt; returns a list of records."""
    stand_in = _stand_in_benchopt()
    root = Path(root)
    objective_cls = _load(root / "objective.py", stand_in).Objective
    dataset_classes = [_load(p, stand_in).Dataset
                       for p in sorted((root / "datasets").glob("*.py"))]
    solver_classes = [_load(p, stand_in).Solver
                      for p in sorted((root / "solvers").glob("*.py"))]
    records = []
    for dataset_cls in dataset_classes:
        for dataset_name, dataset in _instances(dataset_cls):
            data = dataset.get_data()
            for objective_name, objective in _instances(objective_cls):
                objective.set_data(**data)
                for solver_cls in solver_classes:
                    for solver_name, solver in _instances(solver_cls):
                        print(f"{dataset_name} | {objective_name} | "
                              f"{solver_name}", end="", flush=True)
                        skip, reason = solver.skip(**objective.get_objective())
                        if skip:
                            print(f": skipped ({reason})")
                            continue
                        status = "?"
                        for rep in range(args.repetitions):
                            curve, status = _one_curve(objective, solver, args)
                            records.extend(dict(
                                dataset=dataset_name, objective=objective_name,
                                solver=solver_name, rep=rep, n_iter=n,
                                time=t, value=v) for n, t, v in curve)
                        print(f": {len(curve)} points, {status}", flush=True)
            del data
    return records


def _one_curve(objective, solver, args):
    """Fresh fits on benchopt's iteration grid until the stopping rule."""
    solver.set_objective(**objective.get_objective())
    solver.warm_up()
    deadline = time.time() + args.timeout
    curve, deltas = [], []
    rho, n_iter, prev, max_delta, n_eval = RHO, 0, None, 0.0, 0
    while True:
        start = time.perf_counter()
        solver.run(n_iter)
        elapsed = time.perf_counter() - start
        value = objective.evaluate_result(**solver.get_result())["value"]
        curve.append((n_iter, elapsed, value))
        delta = math.inf if prev is None else prev - value
        if not math.isfinite(value) or delta < -1e5:
            return curve, "diverged"
        if time.time() >= deadline:
            return curve, "timeout"
        if n_eval == args.max_runs:
            return curve, "max_runs"
        if prev is not None:
            max_delta = max(max_delta, abs(delta))
            deltas.append(delta / max_delta if max_delta else delta)
        else:
            deltas.append(delta)
        if _converged(deltas):
            return curve, "done"
        n_eval += 1
        if prev is not None and delta == 0:
            rho *= RHO_INC
        prev = value
        n_iter = max(n_iter + 1, int(rho * n_iter))


# ---------------------------------------------------------------------------
# analysis and tables
# ---------------------------------------------------------------------------

def _curves(records):
    """{(dataset, objective): {solver: [(n_iter, median time, median F)]}}."""
    grouped = {}
    for r in records:
        cell = grouped.setdefault((r["dataset"], r["objective"]), {})
        cell.setdefault(r["solver"], {}).setdefault(r["n_iter"], []).append(
            (r["time"], r["value"]))
    out = {}
    for key, solvers in grouped.items():
        out[key] = {
            s: [(n, statistics.median(t for t, _ in pts),
                 statistics.median(v for _, v in pts))
                for n, pts in sorted(points.items())]
            for s, points in solvers.items()
        }
    return out


def _first_time(curve, subopt, threshold):
    """Where the curve, drawn against time, first gets to ``threshold``.

    Every point is a fresh fit, so this is the smallest time among the points
    at or below the threshold (usually the one with the smallest ``n_iter``;
    a later point can be quicker when the machine was noisy).
    """
    times = [t for (_, t, _), s in zip(curve, subopt, strict=True)
             if s <= threshold]
    return min(times) if times else None


def analyse(records):
    """Per cell: F*, F_0, and per solver the times to every threshold."""
    cells = []
    for (dataset, objective), solvers in sorted(_curves(records).items()):
        f_star = min(v for c in solvers.values() for _, _, v in c)
        f_0 = max(c[0][2] for c in solvers.values())
        rows = []
        for solver, curve in sorted(solvers.items()):
            values = np.array([v for _, _, v in curve])
            rel0 = (values - f_star) / (f_0 - f_star) if f_0 > f_star else \
                np.zeros_like(values)
            relf = (values - f_star) / abs(f_star)
            rows.append(dict(
                solver=solver,
                n_points=len(curve),
                last_n_iter=curve[-1][0],
                best_rel_fstar=float(relf.min()),
                t_rel_f0={TH_NAMES[th]: _first_time(curve, rel0, th)
                          for th in THRESHOLDS},
                t_rel_fstar={TH_NAMES[th]: _first_time(curve, relf, th)
                             for th in THRESHOLDS},
                curve=[dict(n_iter=n, time=t, value=v) for n, t, v in curve],
            ))
        ratios = {}
        by_name = {r["solver"]: r for r in rows}
        skb = by_name.get(SKBNORM_DEFAULT)
        sklearn_rows = [r for r in rows if r["solver"].startswith(SKLEARN_PREFIX)]
        for kind in ("t_rel_f0", "t_rel_fstar"):
            for th in THRESHOLDS:
                key = TH_NAMES[th]
                times = [(r[kind][key], r["solver"]) for r in sklearn_rows
                         if r[kind][key] is not None]
                best = min(times) if times else None
                mine = skb[kind][key] if skb is not None else None
                ratios[f"{kind}:{key}"] = dict(
                    ratio=(mine / best[0] if mine is not None and best
                           and best[0] > 0 else None),
                    skbnorm=mine,
                    sklearn=best[0] if best else None,
                    fastest_sklearn=best[1] if best else None,
                )
        cells.append(dict(dataset=dataset, objective=objective, f_star=f_star,
                          f_0=f_0, rows=rows, ratios=ratios))
    medians = {}
    for kind in ("t_rel_f0", "t_rel_fstar"):
        for th in THRESHOLDS:
            key = f"{kind}:{TH_NAMES[th]}"
            vals = [c["ratios"][key]["ratio"] for c in cells
                    if c["ratios"][key]["ratio"] is not None]
            medians[key] = dict(median=statistics.median(vals) if vals else None,
                                n_cells=len(vals))
    return cells, medians


def _fmt_t(t):
    return "--" if t is None else f"{t:.3g}"


def _short_cell(dataset, objective):
    d = dataset
    if d.startswith("Simulated["):
        params = dict(p.split("=") for p in d[len("Simulated["):-1].split(","))
        d = f"Simulated {params.get('n_samples')}x{params.get('n_features')}"
    lmbd = objective.split("lmbd=")[-1].rstrip("]") if "lmbd=" in objective \
        else objective
    return f"{d}, lmbd={lmbd}"


def render(cells, medians, protocol):
    lines = []
    th_head = " | ".join(TH_NAMES[th] for th in THRESHOLDS)
    lines.append(f"**Time (s) to a suboptimality of 1e-4 / 1e-6 / 1e-8 "
                 f"(protocol: {protocol})**")
    lines.append("")
    lines.append(f"| cell | solver | (F-F*)/(F_0-F*): {th_head} | "
                 f"(F-F*)/F*: {th_head} | best (F-F*)/F* | points | last n_iter |")
    lines.append("| --- | --- | " + " | ".join(["---"] * (2 * len(THRESHOLDS)))
                 + " | --- | --- | --- |")
    for c in cells:
        name = _short_cell(c["dataset"], c["objective"])
        for r in c["rows"]:
            t0 = " | ".join(_fmt_t(r["t_rel_f0"][TH_NAMES[th]]) for th in THRESHOLDS)
            tf = " | ".join(_fmt_t(r["t_rel_fstar"][TH_NAMES[th]])
                            for th in THRESHOLDS)
            lines.append(f"| {name} | {r['solver']} | {t0} | {tf} | "
                         f"{r['best_rel_fstar']:.1e} | {r['n_points']} | "
                         f"{r['last_n_iter']} |")
    lines.append("")
    lines.append("F* = smallest objective any solver reached in the cell, F_0 = "
                 "largest objective at n_iter = 0; a time is where the solver's "
                 "curve against time first gets to the threshold (the shortest "
                 "of its fresh fits at or below it), -- if it never does; the "
                 "solver that found F* reaches every threshold.")
    lines.append("")
    lines.append(f"**{SKBNORM_DEFAULT} time / fastest scikit-learn solver's "
                 f"time (< 1: skbnorm faster)**")
    lines.append("")
    lines.append(f"| cell | F* | F_0 | (F-F*)/(F_0-F*): {th_head} | "
                 f"(F-F*)/F*: {th_head} |")
    lines.append("| --- | --- | --- | "
                 + " | ".join(["---"] * (2 * len(THRESHOLDS))) + " |")

    def fmt_ratio(entry):
        if entry["ratio"] is not None:
            name = entry["fastest_sklearn"][len(SKLEARN_PREFIX):-1]
            return f"{entry['ratio']:.3g} ({name})"
        if entry["skbnorm"] is None and entry["sklearn"] is None:
            return "neither"
        if entry["skbnorm"] is None:
            return "skbnorm --"
        return "sklearn --"

    for c in cells:
        name = _short_cell(c["dataset"], c["objective"])
        parts = [fmt_ratio(c["ratios"][f"{kind}:{TH_NAMES[th]}"])
                 for kind in ("t_rel_f0", "t_rel_fstar") for th in THRESHOLDS]
        lines.append(f"| {name} | {c['f_star']:.10g} | {c['f_0']:.6g} | "
                     + " | ".join(parts) + " |")
    parts = []
    for kind in ("t_rel_f0", "t_rel_fstar"):
        for th in THRESHOLDS:
            m = medians[f"{kind}:{TH_NAMES[th]}"]
            parts.append("--" if m["median"] is None
                         else f"{m['median']:.3g} (n={m['n_cells']})")
    lines.append("| **median** | | | " + " | ".join(parts) + " |")
    lines.append("")
    lines.append("In parentheses: the fastest scikit-learn solver at that "
                 "threshold (or the number of cells in the median); "
                 "'skbnorm --' / 'sklearn --': that side never reached the "
                 "threshold.")
    return "\n".join(lines)


def machine_info():
    import scipy
    import sklearn

    import skbnorm

    info = dict(python=platform.python_version(), numpy=np.__version__,
                scipy=scipy.__version__, sklearn=sklearn.__version__,
                skbnorm=getattr(skbnorm, "__version__", "?"),
                benchopt=benchopt_version(), cpu_count=os.cpu_count(),
                processor=platform.processor() or platform.machine(),
                system=platform.system(), release=platform.release())
    try:
        import numba

        info["numba"] = numba.__version__
    except ImportError:
        pass
    try:
        info["git_revision"] = subprocess.run(
            ["git", "-C", str(HERE), "rev-parse", "--short", "HEAD"],
            capture_output=True, text=True, check=True).stdout.strip()
    except Exception:
        pass
    return info


def main(argv=None):
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true",
                        help="only Simulated 1000x10 and 200x500 (both lmbd)")
    parser.add_argument("--max-runs", type=int, default=100,
                        help="points per curve (benchopt -n; default 100)")
    parser.add_argument("--timeout", type=float, default=60,
                        help="seconds per solver and cell (default 60)")
    parser.add_argument("--repetitions", type=int, default=1,
                        help="curves per solver, medians taken (benchopt -r)")
    parser.add_argument("--protocol", choices=("auto", "benchopt", "fallback"),
                        default="auto",
                        help="auto: benchopt, the fallback if it is missing "
                             "or fails")
    parser.add_argument("--json", metavar="PATH",
                        help="also write tables, curves and machine to PATH")
    parser.add_argument("--keep", metavar="DIR",
                        help="write the benchmark into DIR and keep it "
                             "(default: a temporary directory, removed)")
    parser.add_argument("--quiet", action="store_true",
                        help="hide benchopt's progress output")
    args = parser.parse_args(argv)
    args.timeout = max(1, int(math.ceil(args.timeout)))

    cells = SIMULATED_QUICK if args.quick else SIMULATED_FULL
    with_a9a = not args.quick

    tmp = None
    if args.keep:
        root = Path(args.keep).resolve()
        if root.exists() and any(root.iterdir()):
            parser.error(f"--keep {root}: directory exists and is not empty")
    else:
        tmp = tempfile.mkdtemp(prefix="skbnorm_logreg_l2_")
        root = Path(tmp) / "benchmark_logreg_l2_offline"
    try:
        write_benchmark(root, cells, with_a9a)
        print(f"benchmark written to {root}", flush=True)
        start = time.perf_counter()
        protocol, records, fallback_reason = None, None, None
        if args.protocol in ("auto", "benchopt"):
            if benchopt_version() is None:
                fallback_reason = "benchopt is not installed"
            else:
                try:
                    records = run_benchopt(root, args)
                    protocol = f"benchopt {benchopt_version()}"
                except Exception as exc:  # noqa: BLE001 - reported below
                    fallback_reason = f"benchopt run failed: {exc}"
            if records is None and args.protocol == "benchopt":
                sys.exit(f"error: {fallback_reason}")
        if records is None:
            if fallback_reason:
                print(f"FALLBACK ({fallback_reason}): same protocol without "
                      "benchopt", flush=True)
            records = run_fallback(root, args)
            protocol = ("fallback: benchopt's protocol re-implemented "
                        "(fresh fit per n_iter, time.perf_counter)")
        wall = time.perf_counter() - start
    finally:
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)

    cells_out, medians = analyse(records)
    print()
    print(render(cells_out, medians, protocol))
    print(f"\n({protocol}; {wall:.0f} s; max_runs={args.max_runs}, "
          f"timeout={args.timeout} s, repetitions={args.repetitions})")
    if args.json:
        payload = dict(
            protocol=protocol, fallback_reason=fallback_reason,
            args=vars(args), wall_seconds=wall, machine=machine_info(),
            thresholds=list(THRESHOLDS), cells=cells_out, medians=medians,
            markdown=render(cells_out, medians, protocol))
        Path(args.json).write_text(json.dumps(payload, indent=1))
        print(f"written {args.json}")


if __name__ == "__main__":
    main()
