import os

import pytest


def pytest_collection_modifyitems(config, items):
    # The suite also runs as pure Python (NUMBA_DISABLE_JIT=1) on its small
    # inputs; the full-a9a runs are marked and skipped there.
    if os.environ.get("NUMBA_DISABLE_JIT", "0") not in ("", "0"):
        skip = pytest.mark.skip(reason="needs numba's JIT: too slow as pure Python")
        for item in items:
            if "needs_jit" in item.keywords:
                item.add_marker(skip)
