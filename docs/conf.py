"""Sphinx configuration of the subspace-sensing documentation site.

Build (what CI runs, warnings are errors)::

    pip install -r docs/requirements.txt
    python -m sphinx -W --keep-going -b html docs docs/_build/html

The API reference pages (``docs/api/*.rst``) are written by this file at every build from the
packages' ``__all__`` lists (see :data:`API_PAGES`), so a new public name appears without editing
the docs; ``autosummary`` then writes one page per object under ``docs/api/generated/``. Both are
build output (``.gitignore``). The gallery (``docs/examples/*.py``) is run by sphinx-gallery.
"""

from __future__ import annotations

import importlib
import inspect
import os
import sys
import warnings
from pathlib import Path

DOCS = Path(__file__).resolve().parent
ROOT = DOCS.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("MPLBACKEND", "Agg")

import sensing  # noqa: E402

# -- project -------------------------------------------------------------------------------------
project = "subspace-sensing"
author = "subspace-sensing developers"
copyright = "subspace-sensing developers (MIT licence)"
release = sensing.__version__
version = ".".join(release.split(".")[:2])

# -- extensions ----------------------------------------------------------------------------------
extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    "sphinx.ext.viewcode",
    "numpydoc",
    "myst_parser",
    "sphinx_gallery.gen_gallery",
]

source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
root_doc = "index"
exclude_patterns = ["_build", "**.ipynb_checkpoints", "examples/README.rst", "examples/GALLERY_HEADER.rst"]
templates_path = ["_templates"]
default_role = "py:obj"

# no network in CI: no intersphinx, nothing fetched at build time
intersphinx_mapping: dict = {}

# -- autodoc / autosummary / numpydoc ------------------------------------------------------------
autosummary_generate = True
autosummary_imported_members = True
autodoc_default_options = {"member-order": "bysource"}
autodoc_typehints = "none"             # the numpydoc sections state the types
autodoc_inherit_docstrings = False
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
numpydoc_xref_param_type = False
numpydoc_validation_checks: set = set()

# -- MyST (the Markdown pages) -------------------------------------------------------------------
myst_enable_extensions = ["dollarmath", "amsmath", "colon_fence"]
myst_heading_anchors = 3

# -- HTML ----------------------------------------------------------------------------------------
html_theme = "furo"
html_title = f"subspace-sensing {release}"
html_static_path: list = []
html_show_sourcelink = False

# -- sphinx-gallery ------------------------------------------------------------------------------
sphinx_gallery_conf = {
    "examples_dirs": ["examples"],
    "gallery_dirs": ["auto_examples"],
    "filename_pattern": r"/plot_",
    "within_subsection_order": "FileNameSortKey",
    "download_all_examples": False,
    "remove_config_comments": True,
    "matplotlib_animations": False,
    "image_scrapers": ("matplotlib",),
    "reset_modules": ("matplotlib",),
    "show_memory": False,
    "abort_on_example_error": False,
    "only_warn_on_example_error": False,
    "plot_gallery": "True",
    "capture_repr": (),
    "default_thumb_file": None,
}

warnings.filterwarnings("ignore", category=UserWarning,
                        message="Matplotlib is currently using agg, which is a non-GUI backend")

# -- API pages, written from __all__ -------------------------------------------------------------
# (page file, title, module, [submodules, for scenarios], intro)
API_PAGES = [
    ("sensing", "sensing: arrays, OFDM, measurement, datasets, sweeps", ["sensing", "sensing.plotting"]),
    ("channels", "channels: paths, geometry, city model, CFR", ["channels"]),
    ("estimators.subspace", "estimators.subspace: MUSIC, ESPRIT, OMP, Capon, ...", ["estimators.subspace"]),
    ("estimators.tensor", "estimators.tensor: tensor tools, PLAIN, OFDM radar", ["estimators.tensor"]),
    ("estimators.bayes", "estimators.bayes: SBL, VBI, Turbo-VBI, BiSVBI", ["estimators.bayes"]),
    ("estimators.bounds", "estimators.bounds: Cramér–Rao bounds", ["estimators.bounds"]),
    ("estimators.feedback", "estimators.feedback: codebooks and SiFo", ["estimators.feedback"]),
    ("scenarios", "scenarios: configs and generators",
     ["scenarios.isac_ofdm", "scenarios.doa_rmse", "scenarios.plain_figure", "scenarios.site_csi",
      "scenarios.uplink_isac"]),
]
# terminal-program glue of the scenario modules (documented by ``subsense run NAME --help``)
SCENARIO_CLI_NAMES = {"DESCRIPTION", "FLAGS", "add_arguments", "config_from_args", "run"}


def _public_names(modname: str) -> tuple[list[str], list[str], list[str]]:
    mod = importlib.import_module(modname)
    names = list(getattr(mod, "__all__", ()))
    if modname.startswith("scenarios."):
        names = [n for n in names if n not in SCENARIO_CLI_NAMES]
    classes, functions, data = [], [], []
    for n in names:
        if n.startswith("__"):
            continue
        obj = getattr(mod, n)
        if inspect.isclass(obj):
            classes.append(n)
        elif callable(obj):
            functions.append(n)
        else:
            data.append(n)
    return classes, functions, data


def _attr_doc(modname: str, name: str) -> str:
    """The ``#:`` comment documenting ``name`` in the package's modules, or ''."""
    from sphinx.pycode import ModuleAnalyzer

    top = modname.split(".")[0]
    for mname in sorted(m for m in sys.modules if m == top or m.startswith(top + ".")):
        try:
            docs = ModuleAnalyzer.for_module(mname).find_attr_docs()
        except Exception:   # noqa: BLE001  (extension modules, namespace packages)
            continue
        if ("", name) in docs:
            return "\n".join(docs[("", name)]).strip()
    return ""


def _constant(modname: str, name: str) -> str:
    """A ``py:data`` entry: the value (short reprs only) and its ``#:`` comment, never the
    docstring of the value's type."""
    value = getattr(importlib.import_module(modname), name)
    text = repr(value)
    lines = [f".. py:data:: {name}"]
    if len(text) <= 70 and "\n" not in text:
        lines.append(f"   :value: {text}")
    doc = _attr_doc(modname, name)
    if doc:
        lines.append("")
        lines.extend(f"   {line}" if line else "" for line in doc.splitlines())
    return "\n".join(lines) + "\n"


def _underline(text: str, ch: str) -> str:
    return f"{text}\n{ch * len(text)}\n"


def _api_page(title: str, modules: list[str]) -> str:
    out = [".. This page is written by docs/conf.py from the modules' __all__; do not edit.\n",
           _underline(title, "=")]
    for modname in modules:
        classes, functions, data = _public_names(modname)
        if len(modules) > 1:
            out.append(_underline(f"``{modname}``", "-"))
        out.append(f".. automodule:: {modname}\n   :no-members:\n   :no-index:\n")
        out.append(f".. currentmodule:: {modname}\n")
        for heading, names in (("Classes", classes), ("Functions", functions)):
            if not names:
                continue
            out.append(f".. rubric:: {heading}\n")
            out.append(".. autosummary::\n   :toctree: generated/\n   :nosignatures:\n")
            out.extend(f"   {n}" for n in names)
            out.append("")
        if data:
            out.append(".. rubric:: Constants\n")
            for n in data:
                out.append(_constant(modname, n))
    return "\n".join(out) + "\n"


def _write_api_pages() -> None:
    api = DOCS / "api"
    api.mkdir(exist_ok=True)
    toc = [_underline("API reference", "="),
           "One page per package or estimator family; every name listed here is importable from the "
           "module that heads its page (and every estimator also from ``estimators``).\n",
           ".. toctree::\n   :maxdepth: 1\n"]
    for page, title, modules in API_PAGES:
        text = _api_page(title, modules)
        path = api / f"{page}.rst"
        if not path.exists() or path.read_text() != text:   # unchanged pages are not rebuilt
            path.write_text(text)
        toc.append(f"   {page}")
    index = "\n".join(toc) + "\n"
    path = api / "index.rst"
    if not path.exists() or path.read_text() != index:
        path.write_text(index)


_write_api_pages()
