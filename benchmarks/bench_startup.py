"""Import time and first-fit latency, each in a fresh interpreter.

Every measurement runs ``sys.executable -c ...`` and times the import or the
fit inside the child with ``time.perf_counter`` (interpreter start-up is not
counted); the children of the different measurements alternate round by
round, and the table reports medians.

- the import cost of skbnorm on top of its dependencies: ``import
  sklearn.base, numba``, then ``import skbnorm`` timed separately in the same
  child (the difference of two separate children is too noisy);
- the first fit of a small problem after the import, with the numba cache
  warm (the kernels are loaded from disk, not compiled);
- the same with ``NUMBA_CACHE_DIR`` pointing to a new, empty directory: the
  cold cost of compiling every kernel the fit needs.
"""

import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from _harness import Table

ROOT = Path(__file__).resolve().parent.parent
IMPORT_TARGET = 0.15
FIRST_FIT_TARGET = 0.5

_IMPORT = """
import json, time
t0 = time.perf_counter()
import sklearn.base, numba
t1 = time.perf_counter()
import skbnorm
t2 = time.perf_counter()
print(json.dumps({"base": t1 - t0, "skbnorm": t2 - t1}))
"""

_FIT = """
import json, time, warnings
t0 = time.perf_counter()
import numpy as np
import skbnorm
from skbnorm import NormalizedLogisticRegression
t_import = time.perf_counter() - t0
rng = np.random.default_rng(0)
X = rng.standard_normal((200, 5))
y = np.where(X @ np.array([1.0, -0.5, 0.25, 0.0, 2.0])
             + rng.standard_normal(200) > 0, 1, 0)
times = []
with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    for _ in range(2):
        t0 = time.perf_counter()
        NormalizedLogisticRegression(random_state=0).fit(X, y)
        times.append(time.perf_counter() - t0)
print(json.dumps({"import": t_import, "first": times[0], "second": times[1]}))
"""


def child(code, env=None):
    """Run ``code`` in a fresh interpreter; the JSON it prints last."""
    full_env = dict(os.environ)
    if env:
        full_env.update(env)
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=full_env,
                         capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def cold_fit():
    """The fit child with an empty numba cache directory (removed afterwards)."""
    cache = tempfile.mkdtemp(prefix="skbnorm-numba-cache-")
    try:
        return child(_FIT, {"NUMBA_CACHE_DIR": cache})
    finally:
        shutil.rmtree(cache, ignore_errors=True)


def run(quick):
    runs = 5 if quick else 9
    cold_runs = 1 if quick else 3
    child(_FIT)  # fill the numba cache (and the OS file cache): untimed
    imports, fits, colds = [], [], []
    for r in range(runs):
        imports.append(child(_IMPORT))
        fits.append(child(_FIT))
        if r < cold_runs:
            colds.append(cold_fit())
    med = statistics.median
    base = med(i["base"] for i in imports)
    overhead = med(i["skbnorm"] for i in imports)
    total = med(i["base"] + i["skbnorm"] for i in imports)
    first = med(f["first"] for f in fits)
    table = Table(
        "Start-up: import and first fit, fresh interpreters",
        ["measurement", "seconds", "runs", "target", "within target"],
        note=(
            "Times measured inside each child with time.perf_counter "
            "(interpreter start-up excluded); medians over runs, the children "
            "of all rows alternating round by round. The import child times "
            "`import sklearn.base, numba`, then `import skbnorm` in the same "
            "process: the latter is the import overhead of skbnorm. The fit is "
            "NormalizedLogisticRegression(random_state=0) (default solver) on "
            "200 x 5 dense data. 'warm cache': the kernels load from numba's "
            "on-disk cache; 'cold cache': NUMBA_CACHE_DIR is a new empty "
            "directory, so every kernel the fit needs is compiled."
        ),
    )
    table.add(measurement="import sklearn.base, numba", seconds=base, runs=runs)
    table.add(measurement="import sklearn.base, numba, skbnorm", seconds=total,
              runs=runs)
    table.add(measurement="import overhead of skbnorm", seconds=overhead,
              runs=runs, target=f"<= {IMPORT_TARGET}",
              **{"within target": overhead <= IMPORT_TARGET})
    table.add(measurement="import numpy, skbnorm (fit child)",
              seconds=med(f["import"] for f in fits), runs=runs)
    table.add(measurement="first fit, warm cache", seconds=first, runs=runs,
              target=f"<= {FIRST_FIT_TARGET}",
              **{"within target": first <= FIRST_FIT_TARGET})
    table.add(measurement="second fit, same process",
              seconds=med(f["second"] for f in fits), runs=runs)
    table.add(measurement="first fit, cold cache (compiles)",
              seconds=med(f["first"] for f in colds), runs=cold_runs)
    return [table]


if __name__ == "__main__":
    for t in run("--quick" in sys.argv):
        print(t.markdown(), end="\n\n")
