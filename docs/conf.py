"""Sphinx configuration of sklearn-regpen's documentation.

Build it from the repository root with one command (warnings are errors, as in the test suite):

    python -m sphinx -W --keep-going -b html docs docs/_build/html

The example notebooks (``examples/*.ipynb``) are rendered with their stored outputs, never
executed, and the benchmark reports (``benchmarks/results/``) are shown as they were written:
both are copied into ``docs/_generated/`` (not tracked) when the build starts.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

DOCS = Path(__file__).resolve().parent
ROOT = DOCS.parent
sys.path.insert(0, str(ROOT))  # document this checkout's package, installed or not

import sklearn_regpen  # noqa: E402

# -- sources kept elsewhere in the repository -----------------------------------------------------
GENERATED = DOCS / "_generated"


def _copy_sources() -> None:
    """Notebooks and benchmark reports, copied as they are (stored outputs, written results)."""
    shutil.rmtree(GENERATED, ignore_errors=True)
    shutil.rmtree(DOCS / "api" / "generated", ignore_errors=True)  # autosummary rewrites it
    (GENERATED / "examples").mkdir(parents=True)
    (GENERATED / "results").mkdir(parents=True)
    for notebook in sorted((ROOT / "examples").glob("*.ipynb")):
        shutil.copy2(notebook, GENERATED / "examples" / notebook.name)
    for report in sorted((ROOT / "benchmarks" / "results").glob("*")):
        if report.suffix in (".md", ".png"):
            shutil.copy2(report, GENERATED / "results" / report.name)


_copy_sources()

# -- project --------------------------------------------------------------------------------------
project = "sklearn-regpen"
author = "sklearn-regpen"
copyright = "2026, sklearn-regpen"
release = sklearn_regpen.__version__
version = ".".join(release.split(".")[:2])

# -- extensions -----------------------------------------------------------------------------------
extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    "sphinx-mathjax-offline",  # MathJax served from _static/mathjax: no network needed to read
    "sphinx.ext.viewcode",  # a [source] link on every API page, to the highlighted module
    "numpydoc",
    "myst_nb",
]

source_suffix = {".rst": "restructuredtext", ".md": "myst-nb", ".ipynb": "myst-nb"}
exclude_patterns = [
    "_build",
    "Thumbs.db",
    ".DS_Store",
]
templates_path = ["_templates"]

# autosummary / autodoc / numpydoc: one page per public name, from its numpydoc docstring
autosummary_generate = True
autosummary_imported_members = True
autodoc_default_options = {"member-order": "bysource"}
autodoc_typehints = "none"  # the numpydoc sections say the types
numpydoc_show_class_members = False  # the class template lists members once
numpydoc_class_members_toctree = False

# MyST: Markdown pages with $...$ maths; notebooks shown with their stored outputs
myst_enable_extensions = ["dollarmath", "amsmath", "colon_fence", "deflist"]
myst_heading_anchors = 3
nb_execution_mode = "off"
nb_merge_streams = True

# -- HTML -----------------------------------------------------------------------------------------
html_theme = "pydata_sphinx_theme"
html_title = f"sklearn-regpen {release}"
html_static_path = ["_static"]
html_theme_options = {
    "navigation_with_keys": False,
    "show_toc_level": 2,
    "secondary_sidebar_items": ["page-toc"],
}
html_sidebars = {"index": [], "getting_started": [], "changelog": []}
html_show_sourcelink = False


# -- source links --------------------------------------------------------------------------------
def _module_source(app, modname: str):
    """The module's source and its top-level names for ``sphinx.ext.viewcode``.

    viewcode finds functions and classes by itself; adding the module-level assignments gives
    the API pages of constants (``PENALTIES``, ``TABULAR_GRID``, ...) their [source] link too.
    """
    import ast

    from sphinx.pycode import ModuleAnalyzer

    try:
        analyzer = ModuleAnalyzer.for_module(modname)
        analyzer.find_tags()
    except Exception:  # not a module viewcode can read: let it decide
        return None
    tags = dict(analyzer.tags)
    for node in ast.parse(analyzer.code).body:
        targets = node.targets if isinstance(node, ast.Assign) else [getattr(node, "target", None)]
        for target in targets if isinstance(node, (ast.Assign, ast.AnnAssign)) else ():
            if isinstance(target, ast.Name):
                tags.setdefault(target.id, ("other", node.lineno, node.end_lineno))
    return analyzer.code, tags


def _data_module(app, modname: str, fullname: str):
    """Module-level data (a dict, a tuple) has no ``__module__``: it lives where it is documented.
    """
    import importlib

    try:
        value = getattr(importlib.import_module(modname), fullname)
    except (ImportError, AttributeError):
        return None
    return None if hasattr(value, "__module__") else modname


def setup(app):
    app.connect("viewcode-find-source", _module_source)
    app.connect("viewcode-follow-imported", _data_module)
