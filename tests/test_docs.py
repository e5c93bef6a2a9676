"""The documentation builds clean (``pytest -m docs``, needs ``.[docs]``).

Runs ``python -m sphinx -W -b html docs <tmp>``: warnings are errors, and
sphinx-gallery executes every ``examples/plot_*.py`` at full size and
collects its figures.
"""

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.docs
def test_docs_build_clean(tmp_path):
    pytest.importorskip("sphinx")
    pytest.importorskip("sphinx_gallery")
    pytest.importorskip("pydata_sphinx_theme")
    proc = subprocess.run(
        [sys.executable, "-m", "sphinx", "-W", "-b", "html", str(ROOT / "docs"),
         str(tmp_path / "html")],
        cwd=ROOT, capture_output=True, text=True, timeout=3000,
    )
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-4000:]
    gallery = tmp_path / "html" / "auto_examples"
    assert (gallery / "index.html").exists()
    assert list((tmp_path / "html" / "_images").glob("sphx_glr_plot_*.png"))
