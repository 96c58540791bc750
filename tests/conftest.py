"""Shared fixtures: the `xp` backend fixture, a per-test `rng`, and the `gpu` marker."""

from __future__ import annotations

import os
import zlib

import numpy as np
import pytest

os.environ.setdefault("MPLBACKEND", "Agg")

try:  # deterministic hypothesis profile: same examples on every run and in CI
    from hypothesis import HealthCheck, settings

    settings.register_profile("ci", derandomize=True, deadline=None, max_examples=25,
                              suppress_health_check=[HealthCheck.too_slow])
    settings.load_profile("ci")
except ImportError:  # pragma: no cover
    pass


def _cupy_ok() -> bool:
    try:
        import cupy

        return cupy.cuda.runtime.getDeviceCount() > 0
    except Exception:
        return False


def _backends():
    out = [pytest.param("numpy", id="numpy")]
    try:
        import array_api_strict  # noqa: F401

        out.append(pytest.param("array_api_strict", id="strict"))
    except ImportError:  # pragma: no cover
        pass
    out.append(pytest.param("cupy", id="cupy", marks=[pytest.mark.gpu,
                pytest.mark.skipif(not _cupy_ok(), reason="needs CuPy and a CUDA GPU")]))
    return out


@pytest.fixture(params=_backends())
def xp(request):
    """Array namespace under test: numpy, array_api_strict, cupy (gpu)."""
    import array_api_compat

    if request.param == "numpy":
        return array_api_compat.array_namespace(np.empty(0))
    if request.param == "array_api_strict":
        import array_api_strict

        return array_api_strict
    import cupy

    return array_api_compat.array_namespace(cupy.empty(0))


@pytest.fixture
def cp():
    """CuPy itself, for tests marked gpu."""
    if not _cupy_ok():
        pytest.skip("needs CuPy and a CUDA GPU")
    import cupy

    return cupy


@pytest.fixture
def rng(request):
    """Generator seeded from the test id: stable across runs, distinct per test."""
    return np.random.default_rng(zlib.crc32(request.node.nodeid.encode()))


def to_xp(xp, x):
    """Put a host array into namespace xp (test helper)."""
    if xp.__name__.startswith("cupy") or "cupy" in xp.__name__:
        import cupy

        return cupy.asarray(x)
    return xp.asarray(x)
