"""Threading policies under load: numba's layers against the package's pool.

The old core ran its passes with ``parallel=True`` (numba's threading
layer); the new one runs serial ``nogil`` kernels over fixed row blocks on
its own pool of Python threads that block on a queue when idle
(:mod:`skbnorm._threads`). This benchmark is the measurement behind that
choice. One pass is the logistic gradient on dense a9a, ``X^T (sigma(X w) -
y)``, over 32 row blocks with an ordered reduction; each policy runs

* alone (two threads on the two cores: 1x subscription), and
* in two processes started at once (four threads on two cores: 2x),

and the table reports the time per pass and the ratio of the two (2.0 is
what sharing the cores costs; more is the policy's own overhead). The
policies: numba's ``workqueue`` layer, its ``omp`` layer (GNU OpenMP) with
``OMP_WAIT_POLICY`` unset (OpenMP's default spin-then-sleep), ``PASSIVE``
and ``ACTIVE``, its ``tbb`` layer when the ``tbb`` package is installed
(``pip install tbb``: a benchmark-only dependency), and the package's pool.

Measured here (2 cores): every policy but OpenMP's spinning ones costs the
2x of sharing on this long pass (about 2 ms); OpenMP's default and ACTIVE
wait policies 2.5-4x. The collapse the old core showed (19-30x for two
whole fits) comes from many short parallel regions -- a fit's O(n) passes
of tens of microseconds, between which OpenMP's threads spin -- which a
single long pass does not show; ``bench_startup.py``'s two-process table
measures whole fits. The package's pool matches the best layers here,
compiles without ``parallel=True`` (0.4 s saved per kernel) and needs no
environment variable from the user.

Run: ``python benchmarks/bench_threading.py`` (about a minute).
"""

import json
import os
import subprocess
import sys
import tempfile
import textwrap

from _harness import Table

PASSES = 300

_CHILD = textwrap.dedent("""
    import json, sys, time
    import numpy as np
    import numba
    from numba import njit, prange
    policy = sys.argv[1]
    from skbnorm.datasets import load_a9a
    X = np.ascontiguousarray(load_a9a("train")[0].toarray())
    y = load_a9a("train")[1].astype(np.float64)
    n, d = X.shape
    NB = 32
    w = np.random.default_rng(0).standard_normal(d) * 0.01

    @njit(nogil=True, cache=False)
    def block(X, y, w, part, b):
        n, d = X.shape
        lo, hi = b * n // 32, (b + 1) * n // 32
        for i in range(lo, hi):
            z = 0.0
            for j in range(d):
                z += X[i, j] * w[j]
            r = 1.0 / (1.0 + np.exp(-z)) - (y[i] > 0)
            for j in range(d):
                part[b, j] += r * X[i, j]

    @njit(parallel=True, cache=False)
    def grad_prange(X, y, w, part):
        part[:] = 0.0
        for b in prange(32):
            block(X, y, w, part, b)
        return part.sum(axis=0)

    @njit(nogil=True, cache=False)
    def blocks(X, y, w, part, b0, b1):
        for b in range(b0, b1):
            block(X, y, w, part, b)

    part = np.zeros((NB, d))
    if policy == "pool":
        from skbnorm._threads import run_blocks

        def grad():
            part[:] = 0.0
            run_blocks(blocks, (X, y, w, part), NB, 10**9)
            return part.sum(axis=0)
    else:
        def grad():
            return grad_prange(X, y, w, part)
    grad()
    layer = policy if policy == "pool" else numba.threading_layer()
    sys.stdout.write("ready\\n"); sys.stdout.flush()
    sys.stdin.readline()  # start together with the other process
    t0 = time.perf_counter()
    for _ in range(int(sys.argv[2])):
        grad()
    print(json.dumps({"ms": 1e3 * (time.perf_counter() - t0) / int(sys.argv[2]),
                      "layer": layer}))
""")

POLICIES = [
    ("workqueue", {"NUMBA_THREADING_LAYER": "workqueue"}),
    ("omp (default wait policy)", {"NUMBA_THREADING_LAYER": "omp"}),
    ("omp, OMP_WAIT_POLICY=PASSIVE", {"NUMBA_THREADING_LAYER": "omp",
                                      "OMP_WAIT_POLICY": "PASSIVE"}),
    ("omp, OMP_WAIT_POLICY=ACTIVE", {"NUMBA_THREADING_LAYER": "omp",
                                     "OMP_WAIT_POLICY": "ACTIVE"}),
    # pip's tbb wheel puts libtbb.so.12 in the environment's lib/, which the
    # loader does not search by itself
    ("tbb", {"NUMBA_THREADING_LAYER": "tbb",
             "LD_LIBRARY_PATH": os.pathsep.join(
                 [os.path.join(sys.prefix, "lib"),
                  os.environ.get("LD_LIBRARY_PATH", "")])}),
    ("skbnorm pool (serial kernels, blocking workers)", {}),
]


def _start(policy_env, policy, passes, cache):
    env = dict(os.environ, NUMBA_NUM_THREADS="2", OPENBLAS_NUM_THREADS="1",
               NUMBA_CACHE_DIR=cache, **policy_env)
    proc = subprocess.Popen(
        [sys.executable, "-c", _CHILD, policy, str(passes)], env=env,
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True)
    line = proc.stdout.readline()
    if line.strip() != "ready":
        err = proc.communicate(timeout=60)[1]
        raise RuntimeError(err.strip().splitlines()[-1] if err else "failed")
    return proc


def _finish(proc):
    out, err = proc.communicate(timeout=1800)
    if proc.returncode:
        raise RuntimeError(err.strip().splitlines()[-1])
    return json.loads(out.strip().splitlines()[-1])


def _measure(policy_env, policy, k, passes, cache):
    procs = [_start(policy_env, policy, passes, cache) for _ in range(k)]
    for proc in procs:
        proc.stdin.write("go\n")
        proc.stdin.flush()
    return [_finish(proc) for proc in procs]


def run(quick):
    passes = PASSES // 3 if quick else PASSES
    table = Table(
        "Threading policies: one gradient pass on dense a9a, alone and in "
        "two processes at once (2 threads each, 2 cores)",
        ["policy", "layer", "alone ms", "two at once ms", "ratio"],
        note=(f"{passes} passes per process; 'two at once': the slower of two "
              "processes started together; ratio 2.0 is the cost of sharing "
              "two cores between four threads. python "
              "benchmarks/bench_threading.py"),
    )
    with tempfile.TemporaryDirectory() as cache:
        for label, env in POLICIES:
            policy = "pool" if not env else "prange"
            try:
                alone = _measure(env, policy, 1, passes, cache)[0]
                both = _measure(env, policy, 2, passes, cache)
            except Exception as exc:  # a layer that is not installed
                table.add(policy=label, layer=f"unavailable: {exc}"[:60],
                          **{"alone ms": float("nan"),
                             "two at once ms": float("nan"),
                             "ratio": float("nan")})
                continue
            slow = max(r["ms"] for r in both)
            table.add(policy=label, layer=alone["layer"],
                      **{"alone ms": alone["ms"], "two at once ms": slow,
                         "ratio": slow / alone["ms"]})
    return [table]


if __name__ == "__main__":
    for t in run("--quick" in sys.argv):
        print(t.markdown(), end="\n\n")
