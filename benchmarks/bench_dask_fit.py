"""One fit on a dask array: per-iteration cost on a cluster against in memory.

Run::

    python benchmarks/bench_dask_fit.py [--rows N] [--cols D] [--chunk C]

On a ``LocalCluster`` of worker processes (loopback, one thread each,
``NUMBA_NUM_THREADS=1``) it fits ``NormalizedLogisticRegression`` with
``gd`` and ``agd`` on a dask array of simulated dense rows, and on a9a
(CSR chunks), and prints for each:

* the time per iteration, the passes over ``X`` and the round trips to the
  workers per iteration of the dask fit, against the in-memory fit of the
  same data in this process (numba limited to one thread, as on a
  worker), and their ratio: the default solver to its default ``tol``, gd
  and agd for ``--iters`` iterations (``tol=0``);
* weak scaling on the simulated rows: 1 worker with ``N`` rows against 2
  workers with ``2N`` rows;
* the largest difference between the two fits' coefficients;
* with dask-ml installed (``pip install -e ".[bench]"``; a benchmark-only
  dependency), the time to a relative suboptimality of 1e-6 on the same
  dask array and 2-worker cluster: ``NormalizedLogisticRegression()`` at its
  defaults against dask-ml's ``LogisticRegression`` with ``lbfgs`` and
  ``admm``, each run with ``max_iter`` doubled until it gets there. Both fit
  ``C sum_i l_i + ||w||^2 / 2`` without an intercept (dask-glm penalises
  its intercept column, so an intercept would make the objectives differ);
  the optimum is an in-memory fit to ``tol=1e-13``.

The first fit of each configuration warms up the workers' numba caches
and is not timed.
"""

import argparse
import os
import time
import warnings

import numpy as np
import scipy.sparse as sp

os.environ.setdefault("NUMBA_NUM_THREADS", "1")


def _count_passes(design_cls):
    """Wrap the design's passes over X with a counter (the benchmark's own
    instrument: the package does not count)."""
    counter = {"n": 0}
    for name in ("matvec", "rmatvec", "value_grad", "column_sq_means",
                 "hessian", "rmatvec2", "loss_rmatvec2"):
        fn = getattr(design_cls, name, None)
        if fn is None or getattr(fn, "_counted", False):
            continue

        def wrapped(self, *a, _fn=fn, **k):
            counter["n"] += 1
            return _fn(self, *a, **k)

        wrapped._counted = True
        setattr(design_cls, name, wrapped)
    return counter


def _simulated(n, d, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d))
    w = rng.standard_normal(d) / np.sqrt(d)
    y = (X @ w + 0.5 * rng.standard_normal(n) > 0).astype(np.float64)
    return X, y


def _fit(est, X, y):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        t0 = time.perf_counter()
        est.fit(X, y)
        return time.perf_counter() - t0


def _objective(X, y, coef, C=1.0):
    """``C sum_i log(1 + exp(-y_i x_i^T w)) + ||w||^2 / 2``, y in {0, 1}."""
    m = (2.0 * y - 1.0) * np.asarray(X @ coef).ravel()
    return C * float(np.sum(np.logaddexp(0.0, -m))) + 0.5 * float(coef @ coef)


def _against_dask_ml(client, args):
    """Time to 1e-6 of ours and dask-ml's on one dask array (see the module)."""
    try:
        from dask_ml.linear_model import LogisticRegression as DaskLR
    except ImportError:
        print("dask-ml is not installed: no comparison with it")
        return []
    import dask.array as da

    from skbnorm import NormalizedLogisticRegression

    X, y = _simulated(2 * args.rows, args.cols, seed=1)
    ref = NormalizedLogisticRegression(fit_intercept=False, tol=1e-13).fit(X, y)
    f_star = _objective(X, y, ref.coef_[0])
    Xd = da.from_array(X, chunks=(args.chunk, X.shape[1])).persist()
    yd = da.from_array(y, chunks=args.chunk).persist()
    name = f"simulated {X.shape[0]}x{X.shape[1]}"
    out = []
    ours = NormalizedLogisticRegression(fit_intercept=False)
    _fit(ours, Xd, yd)  # warm-up
    t = _fit(ours, Xd, yd)
    out.append((name, "skbnorm default", int(ours.n_iter_[0]), t,
                (_objective(X, y, ours.coef_[0]) - f_star) / abs(f_star)))
    for solver in ("lbfgs", "admm"):
        it = 2
        while True:  # up to 256 iterations; not reached: reported as is
            kw = {"abstol": 1e-14, "reltol": 1e-14} if solver == "admm" else {}
            m = DaskLR(solver=solver, fit_intercept=False, C=1.0, max_iter=it,
                       tol=1e-14, solver_kwargs=kw)
            t = _fit(m, Xd, yd)
            sub = (_objective(X, y, np.asarray(m.coef_).ravel()) - f_star) / abs(
                f_star)
            if sub <= 1e-6 or it == 256:
                break
            it *= 2
        out.append((name, f"dask-ml {solver}", it, t, sub))
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=200_000)
    ap.add_argument("--cols", type=int, default=50)
    ap.add_argument("--chunk", type=int, default=50_000)
    ap.add_argument("--iters", type=int, default=100)
    args = ap.parse_args()

    import dask.array as da
    from distributed import Client, LocalCluster

    from skbnorm import NormalizedLogisticRegression
    from skbnorm.datasets import load_a9a
    from skbnorm.objectives._chunked import ChunkedDesign
    from skbnorm.objectives._design import Design

    mem_passes = _count_passes(Design)
    dask_passes = _count_passes(ChunkedDesign)

    from skbnorm.objectives._chunked import ActorExecutor

    trips = {"n": 0}
    run = ActorExecutor.run

    def counted(self, fn, arg_lists, n_keep, ret):
        trips["n"] += bool(ret)
        return run(self, fn, arg_lists, n_keep, ret)

    ActorExecutor.run = counted

    def est(solver):
        if solver == "gdnp":  # the default, to its default tol
            return NormalizedLogisticRegression(random_state=0)
        return NormalizedLogisticRegression(solver=solver, random_state=0,
                                            max_iter=args.iters, tol=0.0)

    rows = []
    versus = []
    Xa, ya = load_a9a()
    sets = [
        ("simulated", *_simulated(args.rows, args.cols), args.chunk),
        ("a9a (CSR)", Xa, ya, 8192),
    ]
    for workers in (1, 2):
        cluster = LocalCluster(n_workers=workers, threads_per_worker=1,
                               processes=True, host="127.0.0.1",
                               dashboard_address=None,
                               env={"NUMBA_NUM_THREADS": "1"})
        client = Client(cluster)
        try:
            for name, X, y, chunk in sets:
                if name == "simulated":
                    # weak scaling: the rows grow with the workers
                    X, y = _simulated(args.rows * workers, args.cols)
                elif workers == 2:
                    continue
                Xd = da.from_array(X, chunks=(chunk, X.shape[1]),
                                   asarray=not sp.issparse(X)).persist()
                yd = da.from_array(y, chunks=chunk).persist()
                for solver in ("gdnp", "gd", "agd"):
                    _fit(est(solver), Xd, yd)  # warm-up: the workers compile
                    _fit(est(solver), X, y)
                    mem_passes["n"] = 0
                    t_mem = _fit(e_mem := est(solver), X, y)
                    p_mem = mem_passes["n"] / e_mem.n_iter_[0]
                    dask_passes["n"] = 0
                    trips["n"] = 0
                    t_dask = _fit(e_dask := est(solver), Xd, yd)
                    p_dask = dask_passes["n"] / e_dask.n_iter_[0]
                    r_dask = trips["n"] / e_dask.n_iter_[0]
                    same = np.max(np.abs(e_dask.coef_ - e_mem.coef_)) / np.max(
                        np.abs(e_mem.coef_))
                    rows.append((name, X.shape[0], workers, solver,
                                 e_mem.n_iter_[0],
                                 1e3 * t_mem / e_mem.n_iter_[0], p_mem,
                                 1e3 * t_dask / e_dask.n_iter_[0], p_dask,
                                 r_dask, same))
            if workers == 2:
                versus = _against_dask_ml(client, args)
        finally:
            client.close()
            cluster.close()

    if versus:
        print("\ntime to a relative suboptimality of 1e-6 on the same dask array "
              "(2 workers)\n")
        print("| data | solver | max_iter | time (s) | suboptimality | ratio |")
        print("| --- | --- | ---: | ---: | ---: | ---: |")
        base = versus[0][3]
        for name, solver, it, t, sub_ in versus:
            print(f"| {name} | {solver} | {it} | {t:.2f} | {sub_:.1e} | "
                  f"{t / base:.2f} |")

    print("\nper iteration: in memory (this process, 1 thread) against the dask "
          "fit on a LocalCluster\n")
    print("| data | rows | workers | solver | iterations | memory ms/iter | "
          "passes/iter | dask ms/iter | passes/iter | round trips/iter | "
          "ratio | max coef diff (rel) |")
    print("| --- | ---: | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: "
          "| ---: | ---: |")
    for name, n, w, solver, it, tm, pm, td, pd_, rt, same in rows:
        print(f"| {name} | {n} | {w} | {solver} | {it} | {tm:.2f} | {pm:.2f} | "
              f"{td:.2f} | {pd_:.2f} | {rt:.1f} | {td / tm:.2f} | {same:.1e} |")


if __name__ == "__main__":
    main()
