"""Smoke tests of the Kohler et al. examples (figures 1 and 2, theorem 1).

Each example runs in-process at its small size (``SKBNORM_EXAMPLE_SIZE=small``)
with matplotlib's non-interactive Agg backend and must create a figure.
"""

import runpy
from pathlib import Path

import pytest

matplotlib = pytest.importorskip("matplotlib")

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


@pytest.mark.needs_jit
@pytest.mark.parametrize("name", ["plot_kohler_figure1.py",
                                  "plot_kohler_figure2.py",
                                  "plot_kohler_theorem1.py"])
def test_example_runs_small(name, monkeypatch):
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    monkeypatch.setenv("SKBNORM_EXAMPLE_SIZE", "small")
    monkeypatch.setenv("MPLBACKEND", "Agg")
    plt.close("all")
    try:
        runpy.run_path(str(EXAMPLES / name), run_name="__main__")
        assert plt.get_fignums(), f"{name} created no figure"
    finally:
        plt.close("all")
