"""Every docstring example of the four packages runs (doctest), and the public API has examples.

The examples are collected from every module of ``sensing``, ``channels``, ``estimators`` and
``scenarios`` with :class:`doctest.DocTestFinder` and run one test per documented object
(parametrized by its qualified name, so a failure names the function), with
``ELLIPSIS | NORMALIZE_WHITESPACE``. Each runs in a fresh temporary working directory, so an
example that forgets ``tempfile`` leaves nothing in the checkout.
"""

from __future__ import annotations

import doctest
import importlib
import inspect
import pkgutil
import re

import numpy as np
import pytest

import estimators

PACKAGES = ("sensing", "channels", "estimators", "scenarios")
# Modules that are not imported for their docstrings: running the package as a program.
SKIP_MODULES = {"scenarios.__main__"}
OPTIONFLAGS = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE

_EXAMPLES_HEADING = re.compile(r"^\s*Examples\n\s*-{8,}\s*$", re.MULTILINE)


def _modules():
    for package in PACKAGES:
        pkg = importlib.import_module(package)
        yield pkg
        for info in pkgutil.walk_packages(pkg.__path__, prefix=package + "."):
            if info.name in SKIP_MODULES:
                continue
            try:
                yield importlib.import_module(info.name)
            except ImportError as exc:  # an optional dependency (e.g. sionna) that is absent
                if "sionna" in str(exc):
                    continue
                raise


def _doctests():
    finder = doctest.DocTestFinder(exclude_empty=True)
    seen = set()
    out = []
    for module in _modules():
        for test in finder.find(module):
            if test.examples and test.name not in seen:
                seen.add(test.name)
                out.append(test)
    return sorted(out, key=lambda t: t.name)


DOCTESTS = _doctests()


def test_doctests_were_collected():
    assert len(DOCTESTS) >= 170, [t.name for t in DOCTESTS]


@pytest.mark.filterwarnings("ignore:Stochastic Optimizer")  # the SiFo examples' tiny MLPs stop early
@pytest.mark.parametrize("test", DOCTESTS, ids=[t.name for t in DOCTESTS])
def test_docstring_example(test, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    runner = doctest.DocTestRunner(optionflags=OPTIONFLAGS, verbose=False)
    report = []
    with np.printoptions(legacy=False):  # the repr the examples were written against
        runner.run(test, out=report.append, clear_globs=True)
    result = runner.summarize(verbose=False)
    assert result.failed == 0, "".join(report)
    assert list(tmp_path.iterdir()) == [], "the example left files behind"


# Returned-result dataclasses and warning classes: their fields are shown in the Examples of the
# function that returns them (named in the comment), so they need no example of their own.
RESULT_CLASSES = {
    "SubspaceWarning",                                                # a warning class
    "LineEstimate", "ModelOrder", "MultiEstimate", "SparseEstimate",  # music, mdl, music_nd, omp
    "CPResult", "TuckerResult",                                       # cp_als, tucker / hosvd
    "CompressedTensor", "ModeCandidates", "PlainResult", "PlainTimings",  # plain_compress, plain
    "BaselineResult", "RadarEstimate",                                # sequential_estimator, ofdm_radar
    "IterationInfo", "VBIResult", "BiSVBIResult", "EMTurboResult", "LocationOMPResult",
    "BoundResult", "HarmonicMap", "PlainCrb",                         # crb_*, ofdm_harmonic_map, crb_plain_*
    "Type1PMI", "Type2PMI", "EType2PMI", "FeedbackBits", "QuantizedCoefficients",
    "LOSOResult", "SiFoFeedback", "SiFoInference",                    # leave_one_site_out, sifo
    "CalibrationMemory", "SiFoModel",                                 # sifo_calibrate, sifo_pretrain
}


def _has_examples(obj) -> bool:
    return bool(_EXAMPLES_HEADING.search(inspect.getdoc(obj) or ""))


def test_result_class_exemptions_are_result_classes():
    import dataclasses

    for name in RESULT_CLASSES:
        obj = getattr(estimators, name)
        assert inspect.isclass(obj), name
        assert dataclasses.is_dataclass(obj) or issubclass(obj, Warning), name


def test_every_public_estimator_has_examples():
    missing = []
    for name in estimators.__all__:
        obj = getattr(estimators, name)
        if not (inspect.isfunction(obj) or inspect.isclass(obj)) or name in RESULT_CLASSES:
            continue
        if not _has_examples(obj):
            missing.append(name)
    assert missing == [], f"public estimators without an Examples section: {missing}"


# sensing / channels: names in __all__ that need no example of their own. Result dataclasses
# and layout records are shown in the Examples of the function that returns them (named in the
# comment); the Sionna RT functions need the optional sionna extra to run at all.
CORE_EXEMPT = {
    "sensing": {
        "Array",                                                      # a typing alias (typing.Any)
        "Measurement",                                                # measure
        "SweepResult", "TrialRngs",                                   # run_sweep / load_results, trial_rngs
        "Match",                                                      # match_estimates
        "SSBCodebook", "RSRPReport",                                  # ssb_codebook, rsrp_report
    },
    "channels": {
        "LocationDictionary",                                         # location_dictionary
        "CitySite", "CityChannel", "SiteSpec",                        # city_site, city_channel / city_paths
        "sionna_rt_paths", "sionna_rt_channel", "surface_heights",    # need sionna (sionna_rt_available)
    },
}
CORE_MODULES = ("sensing", "channels", "sensing.plotting")


def test_core_exemptions_are_current():
    import dataclasses

    for package, names in CORE_EXEMPT.items():
        mod = importlib.import_module(package)
        for name in names:
            assert name in mod.__all__, f"{package}.{name} is exempt but no longer public"
            obj = getattr(mod, name)
            assert (name == "Array" or name.startswith(("sionna_rt_", "surface_"))
                    or dataclasses.is_dataclass(obj)), f"{package}.{name}"


@pytest.mark.parametrize("module", CORE_MODULES)
def test_every_public_sensing_and_channels_object_has_examples(module):
    mod = importlib.import_module(module)
    exempt = CORE_EXEMPT.get(module, set())
    missing = []
    for name in mod.__all__:
        obj = getattr(mod, name)
        if not (inspect.isfunction(obj) or inspect.isclass(obj)) or name in exempt:
            continue
        if not _has_examples(obj):
            missing.append(name)
    assert missing == [], f"public {module} objects without an Examples section: {missing}"


def test_paths_from_arrays_has_examples():
    from channels import Paths

    assert _has_examples(Paths.from_arrays)


SCENARIO_GENERATORS = [
    "scenarios.isac_ofdm:generate",
    "scenarios.isac_ofdm:default_config",
    "scenarios.isac_ofdm:plain_preset",
    "scenarios.doa_rmse:trial",
    "scenarios.site_csi:generate_site",
    "scenarios.site_csi:quick_config",
    "scenarios.uplink_isac:generate",
    "scenarios.uplink_isac:trial",
]


@pytest.mark.parametrize("target", SCENARIO_GENERATORS)
def test_scenario_generators_have_examples(target):
    module, name = target.split(":")
    assert _has_examples(getattr(importlib.import_module(module), name)), target


def test_every_scenario_generate_has_examples():
    import scenarios

    found = 0
    for info in pkgutil.iter_modules(scenarios.__path__):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"scenarios.{info.name}")
        for name, obj in vars(module).items():
            if inspect.isfunction(obj) and obj.__module__ == module.__name__ and name.startswith("generate"):
                found += 1
                assert _has_examples(obj), f"{module.__name__}.{name}"
    assert found >= 3
