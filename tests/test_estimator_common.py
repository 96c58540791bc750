"""Common checks over every estimator of every family in estimators.REGISTRY (scikit-learn style).

Each registered estimator must: return a frozen dataclass with ``to_numpy()``; be deterministic;
leave its inputs unmodified; reject NaN with a ValueError; keep the array namespace of its data
(or raise a TypeError naming the namespace when it cannot run there); keep single precision
where its entry says so (else return float64). The example problem of each estimator comes from
its registry entry.
"""

import dataclasses
import warnings

import numpy as np
import pytest

from conftest import to_xp
from estimators import ESTIMATORS, EXAMPLES, REGISTRY, SubspaceWarning
from sensing import to_numpy

NAMES = sorted(ESTIMATORS)


def _convert(v, fn):
    if isinstance(v, np.ndarray):
        return fn(v)
    if isinstance(v, (list, tuple)):
        return type(v)(_convert(u, fn) for u in v)
    return v


def _problem(name, rng):
    if name not in EXAMPLES:
        pytest.fail(f"estimator {name!r} is registered in ESTIMATORS but has no example problem in "
                    "estimators.EXAMPLES (estimators/_registry.py): add one.")
    return EXAMPLES[name](rng)


def _arrays(result):
    out = {}
    for f in dataclasses.fields(result):
        v = getattr(result, f.name)
        if hasattr(v, "shape") and hasattr(v, "dtype"):
            out[f.name] = v
        elif isinstance(v, tuple):
            for i, u in enumerate(v):
                if hasattr(u, "shape") and hasattr(u, "dtype"):
                    out[f"{f.name}[{i}]"] = u
    return out


def _call(name, args, kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SubspaceWarning)
        return ESTIMATORS[name](*args, **kwargs)


def test_registry_is_populated():
    assert {"music", "root_music", "esprit", "unitary_esprit", "esprit_nd", "omp", "capon"} <= set(ESTIMATORS)
    assert {"plain", "ofdm_radar", "sbl", "vbi", "sc_vbi", "turbo_vbi", "type1_pmi_search"} <= set(ESTIMATORS)
    assert {e.family for e in REGISTRY.values()} == {"subspace", "tensor", "bayes", "feedback"}
    assert all(callable(f) for f in ESTIMATORS.values())
    assert ESTIMATORS.keys() == EXAMPLES.keys() == REGISTRY.keys()


@pytest.mark.parametrize("name", NAMES)
def test_returns_frozen_dataclass_and_is_deterministic(name, rng):
    args, kwargs = _problem(name, rng)
    r1 = _call(name, args, kwargs)
    r2 = _call(name, args, kwargs)
    assert dataclasses.is_dataclass(r1) and type(r1).__dataclass_params__.frozen
    with pytest.raises(dataclasses.FrozenInstanceError):
        setattr(r1, dataclasses.fields(r1)[0].name, None)
    out = REGISTRY[name].output
    assert hasattr(r1, "to_numpy") and hasattr(r1, out)
    a1, a2 = _arrays(r1), _arrays(r2)
    assert a1.keys() == a2.keys() and a1
    for k in a1:
        np.testing.assert_array_equal(to_numpy(a1[k]), to_numpy(a2[k]), err_msg=f"{name}.{k} not deterministic")
    assert np.all(np.isfinite(to_numpy(getattr(r1, out))))
    host = r1.to_numpy()
    assert all(isinstance(v, np.ndarray) for v in _arrays(host).values())


@pytest.mark.parametrize("name", NAMES)
def test_does_not_modify_inputs(name, rng):
    args, kwargs = _problem(name, rng)
    copies = _convert((args, kwargs), np.copy)
    _call(name, args, kwargs)
    for before, after in zip(_flat(copies), _flat((args, kwargs))):
        np.testing.assert_array_equal(before, after)


def _flat(obj):
    if isinstance(obj, np.ndarray):
        yield obj
    elif isinstance(obj, dict):
        for k in sorted(obj):
            yield from _flat(obj[k])
    elif isinstance(obj, (list, tuple)):
        for v in obj:
            yield from _flat(v)


@pytest.mark.parametrize("name", NAMES)
def test_rejects_nan(name, rng):
    args, kwargs = _problem(name, rng)
    data = np.array(args[0], copy=True)
    data.reshape(-1)[min(3, data.size - 1)] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        ESTIMATORS[name](data, *args[1:], **kwargs)


@pytest.mark.parametrize("name", NAMES)
def test_keeps_namespace(name, xp, rng):
    args, kwargs = _problem(name, rng)
    ref = _call(name, args, kwargs)
    conv = lambda a: to_xp(xp, a)  # noqa: E731
    try:
        r = _call(name, _convert(args, conv), _convert(kwargs, conv))
    except TypeError as exc:       # documented: some estimators need NumPy/CuPy-only linear algebra
        assert xp.__name__.split(".")[-1] in str(exc) or "array_api_strict" in str(exc), exc
        return
    kind = type(to_xp(xp, np.zeros(1)))
    for k, v in _arrays(r).items():
        assert type(v) is kind, f"{name}.{k} left the namespace: {type(v)}"
    out = REGISTRY[name].output
    np.testing.assert_allclose(to_numpy(getattr(r, out)), to_numpy(getattr(ref, out)), atol=1e-6)


@pytest.mark.parametrize("name", NAMES)
def test_keeps_single_precision(name, rng):
    args, kwargs = _problem(name, rng)
    single = _convert(args[:1], lambda a: a.astype(np.complex64 if np.iscomplexobj(a) else np.float32))
    r = _call(name, single + tuple(args[1:]), kwargs)
    entry = REGISTRY[name]
    want = (np.float32, np.complex64) if entry.keeps_precision else (np.float64, np.complex128)
    for k, v in _arrays(r).items():
        if k in entry.float64_fields:
            assert v.dtype == np.float64, f"{name}.{k} is {v.dtype}; the diagnostic trace stays float64"
        elif np.issubdtype(v.dtype, np.floating) or np.issubdtype(v.dtype, np.complexfloating):
            assert v.dtype in want, f"{name}.{k} is {v.dtype} for single-precision input"
    ref = _call(name, args, kwargs)
    np.testing.assert_allclose(getattr(r, entry.output), getattr(ref, entry.output), atol=1e-3, rtol=1e-3)
