"""The one module that decides the array library.

Every public function in the package starts with ``xp = get_xp(*arrays)`` and then calls
``xp.*`` only, so that NumPy input gives NumPy output and CuPy input gives CuPy output.
Nothing outside this module imports :mod:`cupy`. Host/device copies happen only through
:func:`to_numpy` (I/O, plotting) and :func:`asarray_like` (moving host-drawn random numbers
next to the caller's data), never silently inside an estimator.
"""

from __future__ import annotations

import dataclasses
from contextlib import contextmanager
from typing import Any

import array_api_compat as aac
import numpy as np

Array = Any

__all__ = [
    "Array",
    "get_xp",
    "to_numpy",
    "is_numpy_namespace",
    "is_cupy_namespace",
    "is_numpy_array",
    "is_cupy_array",
    "namespace_for_backend",
    "asarray_like",
    "cupy_available",
    "tensorly_backend",
]


def get_xp(*arrays: Any):
    """Array namespace shared by the inputs.

    Python scalars and ``None`` are ignored. Mixing array libraries (e.g. NumPy and CuPy)
    raises :class:`TypeError` instead of copying silently.

    Examples
    --------
    >>> import numpy as np
    >>> from sensing import get_xp, is_numpy_namespace
    >>> xp = get_xp(np.zeros(3), 2.0, None)                 # scalars and None are ignored
    >>> is_numpy_namespace(xp), xp.__name__
    (True, 'array_api_compat.numpy')
    """
    arrs = [a for a in arrays if a is not None and not isinstance(a, (int, float, complex, bool))]
    if not arrs:
        return aac.array_namespace(np.empty(0))
    try:
        return aac.array_namespace(*arrs)
    except TypeError as exc:  # mixed libraries
        kinds = sorted({type(a).__module__.split(".")[0] + "." + type(a).__name__ for a in arrs})
        raise TypeError(
            f"inputs must all come from one array library; got {', '.join(kinds)}. "
            "Move them to one device first (e.g. sensing.to_numpy or cupy.asarray)."
        ) from exc


def is_numpy_namespace(xp) -> bool:
    """True for NumPy (and array-api-compat's NumPy wrapper).

    Examples
    --------
    >>> import numpy as np
    >>> from sensing import get_xp, is_numpy_namespace
    >>> is_numpy_namespace(np), is_numpy_namespace(get_xp(np.ones(2)))
    (True, True)
    """
    return aac.is_numpy_namespace(xp)


def is_cupy_namespace(xp) -> bool:
    """True for CuPy (and array-api-compat's CuPy wrapper).

    Examples
    --------
    >>> import numpy as np
    >>> from sensing import get_xp, is_cupy_namespace
    >>> is_cupy_namespace(get_xp(np.ones(2)))
    False
    """
    return aac.is_cupy_namespace(xp)


def is_numpy_array(x) -> bool:
    """True for a NumPy array (``np.ndarray``).

    Examples
    --------
    >>> import numpy as np
    >>> from sensing import is_numpy_array
    >>> is_numpy_array(np.zeros(2)), is_numpy_array([0.0, 0.0])
    (True, False)
    """
    return aac.is_numpy_array(x)


def is_cupy_array(x) -> bool:
    """True for a CuPy array (always False when CuPy is not installed).

    Examples
    --------
    >>> import numpy as np
    >>> from sensing import is_cupy_array
    >>> is_cupy_array(np.zeros(2))
    False
    """
    return aac.is_cupy_array(x)


def to_numpy(x: Any) -> np.ndarray:
    """Explicit device->host copy (NumPy arrays pass through unchanged).

    Use only at the edges: file I/O, plotting, printing.

    Examples
    --------
    >>> import numpy as np
    >>> from sensing import to_numpy
    >>> x = np.arange(3.0)
    >>> to_numpy(x) is x                                    # NumPy arrays pass through, no copy
    True
    >>> to_numpy([1, 2])
    array([1, 2])
    """
    if x is None:
        return None
    if aac.is_cupy_array(x):
        return x.get()
    if aac.is_numpy_array(x) or isinstance(x, (int, float, complex, list, tuple)):
        return np.asarray(x)
    # any other array-API array (array-api-strict, ...): DLPack, then buffer protocol
    try:
        return np.from_dlpack(x)
    except Exception:  # pragma: no cover - depends on the library
        return np.asarray(x)


def host_copy(value: Any) -> Any:
    """Copy ``value`` to the host: arrays become NumPy arrays, containers are copied element-wise.

    Arrays of any namespace go through :func:`to_numpy`; tuples and lists are converted item by
    item; objects with a ``to_numpy()`` method (result dataclasses) convert themselves; ``None``,
    numbers, strings and everything else (fitted scikit-learn models, configs) are returned as
    they are.

    Examples
    --------
    >>> import numpy as np
    >>> from sensing import host_copy
    >>> out = host_copy((np.zeros(2), [np.ones(1), "label"], None))
    >>> type(out).__name__, type(out[1]).__name__, out[1][1], out[2] is None
    ('tuple', 'list', 'label', True)
    """
    if value is None or isinstance(value, (str, bytes, bool, int, float, complex)):
        return value
    if isinstance(value, (tuple, list)):
        return type(value)(host_copy(v) for v in value)
    if hasattr(value, "shape") and hasattr(value, "dtype"):
        return to_numpy(value)
    if hasattr(value, "to_numpy") and dataclasses.is_dataclass(value) and not isinstance(value, type):
        return value.to_numpy()
    return value


class HostCopy:
    """Mixin for frozen result dataclasses: ``to_numpy()`` returns a copy on the host.

    The one device-to-host mechanism of the package: every array field (also inside tuples,
    lists and nested results) is copied with :func:`host_copy`; other fields are kept. NumPy
    results come back unchanged (same arrays, no copy).

    Examples
    --------
    >>> import dataclasses
    >>> import numpy as np
    >>> from sensing import HostCopy
    >>> @dataclasses.dataclass(frozen=True)
    ... class Result(HostCopy):
    ...     estimates: np.ndarray
    ...     n_iter: int
    >>> r = Result(np.array([0.1, 0.2]), 5).to_numpy()
    >>> type(r).__name__, r.estimates, r.n_iter
    ('Result', array([0.1, 0.2]), 5)
    """

    __slots__ = ()

    def to_numpy(self):
        return dataclasses.replace(self, **{f.name: host_copy(getattr(self, f.name))
                                            for f in dataclasses.fields(self) if f.init})


def cupy_available() -> bool:
    """True when CuPy imports and sees at least one CUDA device.

    Examples
    --------
    >>> from sensing import cupy_available
    >>> isinstance(cupy_available(), bool)                  # True only with CuPy and a CUDA device
    True
    """
    try:
        import cupy  # noqa: F401

        return cupy.cuda.runtime.getDeviceCount() > 0
    except Exception:
        return False


def namespace_for_backend(name: str):
    """Array namespace for a backend name given at the terminal (``"numpy"`` or ``"cupy"``).

    Examples
    --------
    >>> from sensing import is_numpy_namespace, namespace_for_backend
    >>> is_numpy_namespace(namespace_for_backend("numpy"))
    True
    >>> namespace_for_backend("torch")
    Traceback (most recent call last):
        ...
    ValueError: `backend` must be one of 'numpy', 'cupy'; got 'torch'.
    """
    if name == "numpy":
        return aac.array_namespace(np.empty(0))
    if name == "cupy":
        try:
            import cupy
        except ImportError as exc:
            raise ValueError(
                "`backend` 'cupy' needs CuPy: install the `gpu` extra "
                "(pip install 'subspace-sensing[gpu]'); got backend='cupy' without CuPy."
            ) from exc
        return aac.array_namespace(cupy.empty(0))
    raise ValueError(f"`backend` must be one of 'numpy', 'cupy'; got {name!r}.")


def asarray_like(x: Any, xp, *, dtype=None):
    """Put a host array into namespace ``xp`` (explicit host->device move).

    Examples
    --------
    >>> import numpy as np
    >>> from sensing import asarray_like, get_xp
    >>> xp = get_xp(np.zeros(1))
    >>> asarray_like([1, 2], xp, dtype=np.float64)          # on a CuPy namespace: a device array
    array([1., 2.])
    """
    if is_cupy_namespace(xp):
        import cupy

        return cupy.asarray(x, dtype=dtype)
    if is_numpy_namespace(xp):
        return np.asarray(x, dtype=dtype)
    return xp.asarray(np.asarray(x), dtype=dtype)


@contextmanager
def tensorly_backend(xp):
    """Run TensorLy on the backend that matches ``xp`` (thread-local, restored on exit).

    Examples
    --------
    >>> import numpy as np
    >>> from sensing import get_xp, tensorly_backend
    >>> with tensorly_backend(get_xp(np.zeros(1))) as tl:
    ...     tl.get_backend()
    'numpy'
    """
    import tensorly as tl

    if is_cupy_namespace(xp):
        name = "cupy"
    elif is_numpy_namespace(xp):
        name = "numpy"
    else:
        raise TypeError(f"TensorLy functions accept NumPy or CuPy arrays; got {xp.__name__}.")
    with tl.backend_context(name, local_threadsafe=True):
        yield tl
