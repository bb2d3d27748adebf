"""Sphinx configuration of the sgdlogit documentation.

Build with ``python -m sphinx -W --keep-going -b html docs docs/_build/html``; every
gallery example runs during the build.
"""

import os
import re
from pathlib import Path

from threadpoolctl import threadpool_limits

import sgdlogit

DOCS = Path(__file__).parent
ROOT = DOCS.parent

# The gallery runs in this process. Keep BLAS/OpenMP to one thread so that examples do not
# oversubscribe a small CI machine (kept alive for the whole build by this module global).
os.environ.setdefault("MPLBACKEND", "agg")
_THREAD_LIMITS = threadpool_limits(limits=1)

project = "sgdlogit"
author = "sgdlogit developers"
copyright = "sgdlogit developers"
version = release = sgdlogit.__version__

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    "sphinx.ext.viewcode",
    "numpydoc",
    "myst_parser",
    "sphinx_gallery.gen_gallery",
]
# Links to the docs of scikit-learn, numpy, ... need network access at build time: opt in.
if os.environ.get("SGDLOGIT_DOCS_INTERSPHINX"):
    extensions.append("sphinx.ext.intersphinx")
    intersphinx_mapping = {
        "python": ("https://docs.python.org/3", None),
        "numpy": ("https://numpy.org/doc/stable", None),
        "scipy": ("https://docs.scipy.org/doc/scipy", None),
        "sklearn": ("https://scikit-learn.org/stable", None),
        "matplotlib": ("https://matplotlib.org/stable", None),
    }

source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
templates_path = ["_templates"]
exclude_patterns = ["_build", "**.ipynb_checkpoints", "auto_examples/*.py"]
root_doc = "index"
default_role = "literal"

autosummary_generate = True
autodoc_default_options = {"members": True, "inherited-members": True}
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False

# The benchmark page includes benchmarks/README.md, written by people outside the docs;
# its relative links and heading levels must not break a warnings-as-errors build.
suppress_warnings = ["myst.xref_missing", "myst.header"]
myst_heading_anchors = 3

html_theme = "pydata_sphinx_theme"
html_title = f"sgdlogit {release}"
html_static_path = ["_static"]
html_theme_options = {
    "navigation_with_keys": False,
    "show_toc_level": 2,
    "secondary_sidebar_items": ["page-toc"],
}
html_sidebars = {"index": [], "install": [], "quickstart": [], "changelog": []}

sphinx_gallery_conf = {
    "examples_dirs": str(ROOT / "examples"),
    "gallery_dirs": "auto_examples",
    "filename_pattern": r"/plot_",
    "within_subsection_order": "FileNameSortKey",
    "abort_on_example_error": True,
    "only_warn_on_example_error": False,
    "doc_module": ("sgdlogit",),
    "backreferences_dir": "gen_modules/backreferences",
    "reference_url": {"sgdlogit": None},
    "remove_config_comments": True,
    "show_memory": False,
    "write_computation_times": False,
    "min_reported_time": 1,
}


def _benchmark_results(app, docname, source):
    """Put benchmarks/README.md into the benchmarks page, or say how to generate it."""
    if docname != "benchmarks":
        return
    readme = ROOT / "benchmarks" / "README.md"
    if readme.exists():
        relative = os.path.relpath(readme, DOCS)
        block = f"```{{include}} {relative}\n:heading-offset: 1\n:relative-images:\n```\n"
    else:
        block = (
            "No results are stored yet: `python benchmarks/run.py` runs the benchmarks and "
            "writes them to `benchmarks/README.md`, which this page then shows.\n"
        )
    source[0] = source[0].replace("<!-- benchmark results -->", block)


# :ref: and :term: roles that point into scikit-learn's own documentation.
_FOREIGN_ROLE = re.compile(r":(?:ref|term):`([^`<]*?)\s*(?:<[^>]*>)?`")


def _unlink_inherited(app, what, name, obj, options, lines):
    """Render the cross-references of docstrings inherited from scikit-learn as text.

    Methods such as ``score`` or ``set_fit_request`` come from scikit-learn, whose
    docstrings refer to labels and glossary terms of scikit-learn's documentation; without
    intersphinx they would be broken references.
    """
    if getattr(obj, "__module__", "sgdlogit").startswith("sgdlogit"):
        return
    lines[:] = [_FOREIGN_ROLE.sub(r"*\1*", line) for line in lines]


def setup(app):
    """Register the hooks: benchmark page, inherited docstrings."""
    app.connect("source-read", _benchmark_results)
    if "sphinx.ext.intersphinx" not in app.config.extensions:
        app.connect("autodoc-process-docstring", _unlink_inherited)
