"""The math and solver tests also pass as pure Python (NUMBA_DISABLE_JIT=1).

Without the JIT the kernels run as the NumPy-level Python they are written
in, so this checks the algorithms independently of numba's compilation.
The full-a9a runs (marked ``needs_jit``) are skipped there: too slow. The
run is a subprocess started as soon as the suite is collected
(``tests/_nojit.py``); this test waits for it and reads its result.
"""

import pytest

from ._nojit import nojit_result


@pytest.mark.needs_jit  # do not recurse when the suite itself runs without JIT
def test_suite_passes_without_jit():
    code, out, err = nojit_result()
    tail = out[-3000:] + err[-2000:]
    assert code == 0, tail
    assert " passed" in out and "failed" not in out.strip().split("\n")[-1]
