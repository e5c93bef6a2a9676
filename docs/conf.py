"""Sphinx configuration of the skbnorm documentation."""

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import skbnorm  # noqa: E402

project = "skbnorm"
copyright = "2026, the skbnorm developers"
author = "the skbnorm developers"
release = skbnorm.__version__
version = release

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    "sphinx.ext.intersphinx",
    "numpydoc",
    "sphinx_gallery.gen_gallery",
]

autosummary_generate = True
# the metadata-routing setters and score are scikit-learn's own, documented
# there with cross-references into its site
autodoc_default_options = {
    "members": True,
    "inherited-members": False,
    "exclude-members": "set_fit_request,set_score_request,score",
}
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False

# no network at build time: intersphinx inventories are not fetched
intersphinx_mapping = {}

os.environ.setdefault("SKBNORM_EXAMPLE_SIZE", "full")
sphinx_gallery_conf = {
    "examples_dirs": str(ROOT / "examples"),
    "gallery_dirs": "auto_examples",
    "filename_pattern": r"/plot_",
    "ignore_pattern": r"__init__\.py",
    "download_all_examples": False,
    "remove_config_comments": True,
    "abort_on_example_error": True,
    "plot_gallery": "True",
}

html_theme = "pydata_sphinx_theme"
html_theme_options = {"navigation_with_keys": False}
html_title = "skbnorm"
templates_path = ["_templates"]
exclude_patterns = ["_build", "auto_examples/*.ipynb", "auto_examples/*.py"]
