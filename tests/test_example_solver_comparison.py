"""The plain (non-gallery) example runs and prints one row per solver."""

import runpy
from pathlib import Path

import pytest

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "solver_comparison.py"


@pytest.mark.needs_jit
def test_solver_comparison_example_runs(capsys):
    runpy.run_path(str(EXAMPLE), run_name="__main__")
    rows = capsys.readouterr().out.strip().splitlines()
    assert [r.split()[0] for r in rows[1:]] == ["gdnp", "gd", "agd", "bn", "wn"]
