"""The layout the architecture promises, checked on the source (AST), not by convention.

* package layers: sensing <- channels <- estimators <- scenarios (an arrow points from the
  imported package to the one that may import it); nothing imports upwards;
* inside :mod:`estimators`, the families form a DAG: ``subspace`` is the base; ``tensor``,
  ``bayes`` and ``bounds`` may use it; ``feedback`` stands alone; only the package ``__init__``
  and the registry see every family;
* no import cycle between modules (module-level imports);
* no module imports another module's private (underscore) names;
* every public name of the flat layout still imports from :mod:`estimators`.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("sensing", "channels", "estimators", "scenarios")
LAYER = {name: i for i, name in enumerate(PACKAGES)}
FAMILIES = ("subspace", "tensor", "bayes", "bounds", "feedback")
#: family -> the families it may import
FAMILY_DEPS = {"subspace": set(), "tensor": {"subspace"}, "bayes": {"subspace"}, "bounds": {"subspace"},
               "feedback": set()}

#: every public name of ``estimators`` before the family subpackages existed
FLAT_PUBLIC_NAMES = """
BaselineResult BiSVBIResult BoundResult CPResult CalibrationMemory CompressedTensor EMTurboResult
ESTIMATORS EType2Codebook EType2PMI EXAMPLES FeedbackBits HarmonicMap IterationInfo LOSOResult
LineEstimate LocationOMPResult ModeCandidates ModelOrder MultiEstimate PlainCrb PlainResult
PlainTimings QuantizedCoefficients RadarEstimate SiFoConfig SiFoFeedback SiFoInference SiFoModel
SiteData SparseEstimate SparsePrior SubspaceWarning TuckerResult Type1Codebook Type1PMI Type2Codebook
Type2PMI VBIResult aic azimuth_from_frequency beam_power_labels beam_subspace beamforming_gain
beamscan bisvbi capon capture_efficiency coefficient_feedback_bits common_support_posterior cp_als
crb_deterministic crb_harmonic crb_plain_joint crb_plain_per_dimension crb_stochastic
delay_from_frequency dft_beams dft_subspace_codebook doppler_from_frequency effective_se_from_gains
effective_spectral_efficiency eigen_subspace em_turbo_bisvbi esprit esprit_nd etype2_codebook fold
forward_backward frequency_from_delay frequency_from_doppler hosvd joint_esprit_estimator
leave_one_site_out location_omp mdl mode_dot multi_mode_dot multidimensional_smoothing music
music_2d music_nd ofdm_harmonic_map ofdm_radar omp overhead_table per_site_baseline plain
plain_compress quantize_coefficients root_music sample_covariance sbl sc_vbi select_beams
sequential_estimator sifo sifo_calibrate sifo_feedback sifo_infer sifo_pretrain spatial_smoothing
support_messages supported_panel_configs tensor_omp_placeholder tucker turbo_vbi type1_codebook
type2_codebook unfold unitary_esprit vbi
""".split()
FLAT_PUBLIC_NAMES.remove("tensor_omp_placeholder")


def _module_name(path: Path) -> str:
    rel = path.relative_to(ROOT).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _sources():
    for pkg in PACKAGES:
        for path in sorted((ROOT / pkg).rglob("*.py")):
            yield _module_name(path), path


def _imports(module: str, path: Path):
    """(imported module, imported names, top level?) for every import statement."""
    tree = ast.parse(path.read_text(), filename=str(path))
    is_pkg = path.name == "__init__.py"
    top_level = {id(n) for n in tree.body}
    for node in tree.body:                      # imports under `if TYPE_CHECKING:` etc. count too
        if isinstance(node, (ast.If, ast.Try)):
            top_level.update(id(n) for n in ast.walk(node))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for a in node.names:
                yield a.name, (), id(node) in top_level
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = module.split(".") if is_pkg else module.split(".")[:-1]
                base = base[: len(base) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            yield target, tuple(a.name for a in node.names), id(node) in top_level


ALL = {m: list(_imports(m, p)) for m, p in _sources()}


def _family(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and parts[0] == "estimators" and parts[1] in FAMILIES else None


def test_every_package_and_family_is_found():
    assert {m.split(".")[0] for m in ALL} == set(PACKAGES)
    assert {_family(m) for m in ALL} - {None} == set(FAMILIES)


def test_packages_import_only_downwards():
    bad = [f"{m} imports {t}" for m, imps in ALL.items() for t, _, _ in imps
           if t.split(".")[0] in LAYER and LAYER[t.split(".")[0]] > LAYER[m.split(".")[0]]]
    assert not bad, "upward imports:\n" + "\n".join(bad)


def test_estimator_families_form_the_documented_dag():
    bad = []
    for m, imps in ALL.items():
        fam = _family(m)
        if fam is None:
            continue
        for t, _, _ in imps:
            other = _family(t)
            if t == "estimators" or t.startswith("estimators._"):
                bad.append(f"{m} imports {t} (families import each other's modules, never the package root)")
            elif other is not None and other != fam and other not in FAMILY_DEPS[fam]:
                bad.append(f"{m} ({fam}) imports {t} ({other})")
    assert not bad, "\n".join(bad)


def test_no_import_cycles_between_modules():
    graph = {m: {t for t, _, top in imps if top and t in ALL and t != m} for m, imps in ALL.items()}
    # a package's __init__ importing its own submodules is the normal direction; a submodule that
    # imports its package's __init__ would close a cycle and is reported
    state: dict[str, int] = {}
    cycles = []

    def visit(m, stack):
        state[m] = 1
        for t in sorted(graph[m]):
            if state.get(t) == 1:
                cycles.append(" -> ".join(stack[stack.index(t):] + [t]))
            elif t not in state:
                visit(t, stack + [t])
        state[m] = 2

    for m in sorted(graph):
        if m not in state:
            visit(m, [m])
    assert not cycles, "import cycles:\n" + "\n".join(cycles)


def test_no_private_names_cross_module_borders():
    bad = [f"{m}: from {t} import {n}" for m, imps in ALL.items() for t, names, _ in imps
           if t.split(".")[0] in LAYER for n in names if n.startswith("_") and f"{t}.{n}" not in ALL]
    assert not bad, "private names imported from another module:\n" + "\n".join(bad)


@pytest.mark.parametrize("name", FLAT_PUBLIC_NAMES)
def test_flat_public_names_still_import(name):
    import estimators

    assert name in estimators.__all__
    assert getattr(estimators, name) is not None


@pytest.mark.parametrize("family", FAMILIES)
def test_each_family_exports_its_names_and_the_root_re_exports_them(family):
    import importlib

    import estimators

    mod = importlib.import_module(f"estimators.{family}")
    assert mod.__all__ and len(set(mod.__all__)) == len(mod.__all__)
    for name in mod.__all__:
        assert getattr(estimators, name) is getattr(mod, name), f"estimators.{name} is not estimators.{family}.{name}"
