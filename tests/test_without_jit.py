"""The math and solver tests also pass as pure Python (NUMBA_DISABLE_JIT=1).

Without the JIT the kernels run as the NumPy-level Python they are written
in, so this checks the algorithms independently of numba's compilation.
The full-a9a runs (marked ``needs_jit``) are skipped there: too slow.
"""

import os
import subprocess
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
FILES = ["test_objectives.py", "test_solvers.py", "test_estimators.py",
         "test_convergence.py", "test_robustness.py"]


@pytest.mark.needs_jit  # do not recurse when the suite itself runs without JIT
def test_suite_passes_without_jit():
    env = dict(os.environ, NUMBA_DISABLE_JIT="1")
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
         *[str(HERE / f) for f in FILES]],
        env=env, cwd=HERE.parent, capture_output=True, text=True, timeout=1200,
    )
    tail = proc.stdout[-3000:] + proc.stderr[-2000:]
    assert proc.returncode == 0, tail
    assert " passed" in proc.stdout and "failed" not in proc.stdout.split("\n")[-2]
