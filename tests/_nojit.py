"""The suite's pure-Python run (NUMBA_DISABLE_JIT=1), started in the background.

``tests/conftest.py`` starts it once the tests are collected, when
``test_without_jit.py`` is among them; the test then waits for its result.
"""

import os
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
FILES = ["test_objectives.py", "test_solvers.py", "test_estimators.py",
         "test_convergence.py", "test_robustness.py"]
TIMEOUT = 1200

_run = {}


def start_nojit_run():
    """Start the pure-Python run of :data:`FILES` (once per session)."""
    if "proc" in _run:
        return
    env = dict(os.environ, NUMBA_DISABLE_JIT="1")
    # output to files, not pipes: a full pipe would block the child while
    # nobody reads it
    out = tempfile.TemporaryFile(mode="w+")
    err = tempfile.TemporaryFile(mode="w+")
    # at a lower priority: it takes the cycles the suite's mostly
    # single-threaded tests leave, not those of its two-thread passes
    nice = (lambda: os.nice(10)) if hasattr(os, "nice") else None
    _run["proc"] = subprocess.Popen(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
         "-n", "0",
         *[str(HERE / f) for f in FILES]],
        env=env, cwd=HERE.parent, stdout=out, stderr=err, text=True,
        preexec_fn=nice)
    _run["out"], _run["err"] = out, err


def nojit_result():
    """``(returncode, stdout, stderr)`` of the run, waiting for it to end."""
    start_nojit_run()
    proc = _run["proc"]
    proc.wait(timeout=TIMEOUT)
    texts = []
    for f in (_run["out"], _run["err"]):
        f.seek(0)
        texts.append(f.read())
    return proc.returncode, texts[0], texts[1]


def stop_nojit_run():
    proc = _run.get("proc")
    if proc is not None and proc.poll() is None:
        proc.kill()
        proc.wait()
