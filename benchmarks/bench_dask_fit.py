"""One fit on a dask array: per-iteration cost on a cluster against in memory.

Run::

    python benchmarks/bench_dask_fit.py [--rows N] [--cols D] [--chunk C]

On a ``LocalCluster`` of worker processes (loopback, one thread each,
``NUMBA_NUM_THREADS=1``) it fits ``NormalizedLogisticRegression`` with
``gd`` and ``agd`` on a dask array of simulated dense rows, and on a9a
(CSR chunks), and prints for each:

* the time per iteration and the passes over ``X`` per iteration of the dask
  fit, against the in-memory fit of the same data in this process (numba
  limited to one thread, as on a worker), and their ratio;
* weak scaling on the simulated rows: 1 worker with ``N`` rows against 2
  workers with ``2N`` rows;
* the largest difference between the two fits' coefficients.

Each fit runs ``--iters`` iterations (``tol=0``). The comparison with
dask-ml's ``LogisticRegression`` that the distributed issue asks for is not
here yet.

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

    def est(solver, **kw):
        return NormalizedLogisticRegression(solver=solver, random_state=0,
                                            max_iter=args.iters, tol=0.0, **kw)

    rows = []
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
                for solver in ("gd", "agd"):
                    _fit(est(solver), Xd, yd)  # warm-up: the workers compile
                    _fit(est(solver), X, y)
                    mem_passes["n"] = 0
                    t_mem = _fit(e_mem := est(solver), X, y)
                    p_mem = mem_passes["n"] / e_mem.n_iter_[0]
                    dask_passes["n"] = 0
                    t_dask = _fit(e_dask := est(solver), Xd, yd)
                    p_dask = dask_passes["n"] / e_dask.n_iter_[0]
                    same = np.max(np.abs(e_dask.coef_ - e_mem.coef_)) / np.max(
                        np.abs(e_mem.coef_))
                    rows.append((name, X.shape[0], workers, solver,
                                 1e3 * t_mem / e_mem.n_iter_[0], p_mem,
                                 1e3 * t_dask / e_dask.n_iter_[0], p_dask, same))
        finally:
            client.close()
            cluster.close()

    print("\nper iteration: in memory (this process, 1 thread) against the dask "
          "fit on a LocalCluster\n")
    print("| data | rows | workers | solver | memory ms/iter | passes/iter | "
          "dask ms/iter | passes/iter | ratio | max coef diff (rel) |")
    print("| --- | ---: | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    for name, n, w, solver, tm, pm, td, pd_, same in rows:
        print(f"| {name} | {n} | {w} | {solver} | {tm:.2f} | {pm:.2f} | "
              f"{td:.2f} | {pd_:.2f} | {td / tm:.2f} | {same:.1e} |")


if __name__ == "__main__":
    main()
