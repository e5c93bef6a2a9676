import os

import pytest

from ._nojit import start_nojit_run, stop_nojit_run

#: most workers ``-n auto`` starts: each compiles the kernels it meets and
#: each fit already uses every core, so more workers only add compilation
MAX_WORKERS = 4


def pytest_xdist_auto_num_workers(config):
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:
        cores = os.cpu_count() or 1
    return max(1, min(cores, MAX_WORKERS))


def pytest_collection_modifyitems(config, items):
    # The suite also runs as pure Python (NUMBA_DISABLE_JIT=1) on its small
    # inputs; the full-a9a runs are marked and skipped there.
    if os.environ.get("NUMBA_DISABLE_JIT", "0") not in ("", "0"):
        skip = pytest.mark.skip(reason="needs numba's JIT: too slow as pure Python")
        for item in items:
            if "needs_jit" in item.keywords:
                item.add_marker(skip)
        return
    # the pure-Python run is a subprocess of its own, single-threaded: start
    # it now, so that it runs beside the rest of the suite on the other core
    # rather than after it (35 s of a five-minute suite on two cores)
    # (under pytest-xdist every worker collects every test: one starts it)
    if os.environ.get("PYTEST_XDIST_WORKER", "gw0") == "gw0" and any(
            item.nodeid.endswith("test_suite_passes_without_jit")
            for item in items):
        start_nojit_run()


def pytest_sessionfinish(session, exitstatus):
    stop_nojit_run(interrupted=exitstatus not in (pytest.ExitCode.OK,
                                                  pytest.ExitCode.TESTS_FAILED))


@pytest.fixture
def expensive_metric(monkeypatch):
    """The default solver's cost model rates every shape's Hessian at 20
    iterations (dense 100000 x 400: 18 by the model, about 15 measured):
    ``metric="auto"`` defers it wherever the loss allows."""
    from skbnorm.solvers import _subspace

    real_costs = _subspace._costs

    def costs(problem, woodbury=False):
        step = real_costs(problem, woodbury)[1]
        return 20.0 * step, step

    monkeypatch.setattr(_subspace, "_costs", costs)
