"""The suite's pure-Python run (NUMBA_DISABLE_JIT=1), started in the background.

``tests/conftest.py`` starts it once the tests are collected, when
``test_without_jit.py`` is among them; the test then waits for its result.
Under pytest-xdist every worker collects every test: the first worker
(``gw0``) starts the run, and the test, in whichever worker it lands,
waits for the files the run leaves in a folder named after the xdist
run's id (its output, then its return code, written last).
"""

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
FILES = ["test_objectives.py", "test_solvers.py", "test_estimators.py",
         "test_convergence.py", "test_robustness.py"]
TIMEOUT = 1200

# runs the pure-Python pytest, then writes its return code (atomically)
_RUNNER = """
import os, subprocess, sys
out, err, rc = sys.argv[1:4]
with open(out, "w") as fo, open(err, "w") as fe:
    code = subprocess.run(sys.argv[4:], stdout=fo, stderr=fe).returncode
with open(rc + ".tmp", "w") as f:
    f.write(str(code))
os.replace(rc + ".tmp", rc)
"""

_run = {}


def _folder():
    run_id = os.environ.get("PYTEST_XDIST_TESTRUNUID") or f"pid{os.getpid()}"
    return Path(tempfile.gettempdir()) / f"skbnorm-nojit-{run_id}"


def _files():
    d = _folder()
    return d / "out.txt", d / "err.txt", d / "rc.txt"


def start_nojit_run():
    """Start the pure-Python run of :data:`FILES` (once per session)."""
    if "proc" in _run:
        return
    out, err, rc = _files()
    out.parent.mkdir(parents=True, exist_ok=True)
    for f in (out, err, rc):  # a folder left by an earlier process of this pid
        f.unlink(missing_ok=True)
    env = dict(os.environ, NUMBA_DISABLE_JIT="1")
    # at a lower priority: it takes the cycles the suite's mostly
    # single-threaded tests leave, not those of its two-thread passes
    nice = (lambda: os.nice(10)) if hasattr(os, "nice") else None
    _run["proc"] = subprocess.Popen(
        [sys.executable, "-c", _RUNNER, str(out), str(err), str(rc),
         sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
         "-n", "0", *[str(HERE / f) for f in FILES]],
        env=env, cwd=HERE.parent, preexec_fn=nice)


def nojit_result():
    """``(returncode, stdout, stderr)`` of the run, waiting for it to end."""
    if os.environ.get("PYTEST_XDIST_WORKER") is None:
        start_nojit_run()  # one process: this one starts it, if not yet
    out, err, rc = _files()
    deadline = time.monotonic() + TIMEOUT
    while not rc.exists():
        if time.monotonic() > deadline:
            raise TimeoutError(f"the pure-Python run did not end in {TIMEOUT} s")
        time.sleep(0.2)
    result = int(rc.read_text()), out.read_text(), err.read_text()
    # the one reader: the folder goes with its result
    for f in (out, err, rc):
        f.unlink(missing_ok=True)
    out.parent.rmdir()
    return result


def stop_nojit_run(interrupted):
    """At the end of the process that started the run: wait for it (another
    worker's test may still read it), or kill it if the session was cut
    short."""
    proc = _run.get("proc")
    if proc is None or proc.poll() is not None:
        return
    if interrupted:
        proc.kill()
    else:
        try:
            proc.wait(timeout=TIMEOUT)
        except subprocess.TimeoutExpired:
            proc.kill()
    proc.wait()
