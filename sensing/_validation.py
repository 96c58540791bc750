"""Input validation shared by every public function.

Each helper raises :class:`ValueError` or :class:`TypeError` with a message that names the
parameter, the accepted range (and why, when given) and the value received. Nothing here uses
``assert`` and nothing coerces NaN silently.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence
from typing import Any

import numpy as np

from ._backend import get_xp, is_numpy_namespace

__all__ = [
    "check_int",
    "check_float",
    "check_bool",
    "check_choice",
    "check_array",
    "check_finite",
    "check_rng",
    "check_divides",
]


def _why(why: str | None) -> str:
    return f" ({why})" if why else ""


def _range_text(low, high, low_inclusive=True, high_inclusive=True) -> str:
    if low is not None and high is not None:
        lb = "[" if low_inclusive else "("
        rb = "]" if high_inclusive else ")"
        return f"in {lb}{low:g}, {high:g}{rb}" if isinstance(low, float) or isinstance(high, float) \
            else f"in {lb}{low}, {high}{rb}"
    if low is not None:
        return f"{'>=' if low_inclusive else '>'} {low}"
    if high is not None:
        return f"{'<=' if high_inclusive else '<'} {high}"
    return "any value"


def check_int(value: Any, name: str, *, low: int | None = None, high: int | None = None,
              why: str | None = None) -> int:
    """Return ``value`` as a Python int after checking type and range (inclusive bounds).

    Examples
    --------
    >>> from sensing import check_int
    >>> check_int(8, "n_antennas", low=1)
    8
    >>> check_int(0, "n_antennas", low=1, why="at least one antenna")
    Traceback (most recent call last):
        ...
    ValueError: `n_antennas` must be an integer >= 1 (at least one antenna); got 0.
    >>> check_int(2.0, "n_antennas")
    Traceback (most recent call last):
        ...
    TypeError: `n_antennas` must be an integer; got the float 2.0.
    """
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral):
        if isinstance(value, (float, np.floating)) and float(value).is_integer():
            raise TypeError(f"`{name}` must be an integer; got the float {value!r}.")
        raise TypeError(f"`{name}` must be an integer; got {value!r} of type {type(value).__name__}.")
    value = int(value)
    if (low is not None and value < low) or (high is not None and value > high):
        raise ValueError(f"`{name}` must be an integer {_range_text(low, high)}{_why(why)}; got {value}.")
    return value


def check_float(value: Any, name: str, *, low: float | None = None, high: float | None = None,
                low_inclusive: bool = True, high_inclusive: bool = True,
                why: str | None = None) -> float:
    """Return ``value`` as a finite Python float after checking the range.

    Examples
    --------
    >>> from sensing import check_float
    >>> check_float(10, "snr_db")
    10.0
    >>> check_float(0.0, "spacing_m", low=0.0, low_inclusive=False)
    Traceback (most recent call last):
        ...
    ValueError: `spacing_m` must be > 0.0; got 0.
    """
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise TypeError(f"`{name}` must be a real number; got {value!r} of type {type(value).__name__}.")
    value = float(value)
    if not math.isfinite(value):
        raise ValueError(f"`{name}` must be finite{_why(why)}; got {value}.")
    bad = (
        (low is not None and (value < low or (not low_inclusive and value == low)))
        or (high is not None and (value > high or (not high_inclusive and value == high)))
    )
    if bad:
        rng_txt = _range_text(low, high, low_inclusive, high_inclusive)
        raise ValueError(f"`{name}` must be {rng_txt}{_why(why)}; got {value:g}.")
    return value


def check_bool(value: Any, name: str) -> bool:
    """Return ``value`` as a Python bool; anything but True/False (or a NumPy bool) raises.

    Examples
    --------
    >>> from sensing import check_bool
    >>> check_bool(True, "refine")
    True
    >>> check_bool(1, "refine")
    Traceback (most recent call last):
        ...
    TypeError: `refine` must be True or False; got 1.
    """
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"`{name}` must be True or False; got {value!r}.")
    return bool(value)


def check_choice(value: Any, name: str, choices: Sequence[Any]) -> Any:
    """Check that ``value`` is one of ``choices``.

    Examples
    --------
    >>> from sensing import check_choice
    >>> check_choice("root", "method", ("grid", "root"))
    'root'
    >>> check_choice("fast", "method", ("grid", "root"))
    Traceback (most recent call last):
        ...
    ValueError: `method` must be one of 'grid', 'root'; got 'fast'.
    """
    if value not in choices:
        opts = ", ".join(repr(c) for c in choices)
        raise ValueError(f"`{name}` must be one of {opts}; got {value!r}.")
    return value


def check_finite(x: Any, name: str, xp=None) -> None:
    """Raise if ``x`` holds NaN or infinity (says where and what to do).

    Examples
    --------
    >>> import numpy as np
    >>> from sensing import check_finite
    >>> check_finite(np.array([1.0, 2.0]), "data")              # returns None when all is finite
    >>> check_finite(np.array([1.0, np.nan, np.inf]), "data")
    Traceback (most recent call last):
        ...
    ValueError: `data` must be finite; got 2 NaN/inf entries out of 3. Remove or impute them before calling.
    """
    xp = get_xp(x) if xp is None else xp
    if xp.isdtype(x.dtype, "bool") or xp.isdtype(x.dtype, "integral"):
        return
    ok = xp.all(xp.isfinite(x))
    if not bool(ok):
        n_bad = int(xp.sum(xp.astype(~xp.isfinite(x), xp.int64)))
        raise ValueError(
            f"`{name}` must be finite; got {n_bad} NaN/inf entr{'y' if n_bad == 1 else 'ies'} "
            f"out of {math.prod(x.shape)}. Remove or impute them before calling."
        )


def check_array(x: Any, name: str, *, ndim: int | tuple[int, ...] | None = None,
                shape: tuple[int | None, ...] | None = None, min_ndim: int | None = None,
                kind: str | tuple[str, ...] = ("real floating", "complex floating", "integral"),
                finite: bool = True, xp=None) -> Any:
    """Validate an array argument and return it as an array of namespace ``xp``.

    Lists and tuples are accepted and converted with ``xp.asarray``. ``shape`` may use ``None``
    for free axes. ``kind`` takes array-API dtype kinds (``"real floating"``, ``"complex
    floating"``, ``"integral"``, ``"bool"``).

    Examples
    --------
    >>> import numpy as np
    >>> from sensing import check_array
    >>> check_array([[1.0, 2.0], [3.0, 4.0]], "data", ndim=2).shape   # lists become arrays
    (2, 2)
    >>> check_array(np.zeros((3, 4)), "data", shape=(4, None))
    Traceback (most recent call last):
        ...
    ValueError: `data` must have shape (4, any); got shape (3, 4).
    >>> check_array(np.zeros(3), "data", kind="complex floating")
    Traceback (most recent call last):
        ...
    TypeError: `data` must have a dtype of kind complex floating; got float64.
    """
    if not (hasattr(x, "shape") and hasattr(x, "dtype")):
        if not isinstance(x, (list, tuple, numbers.Number)):
            raise TypeError(f"`{name}` must be an array; got {type(x).__name__}.")
        try:
            host = np.asarray(x)
        except Exception as exc:
            raise TypeError(f"`{name}` must be a rectangular array; got a ragged {type(x).__name__}.") from exc
        x = host if xp is None or is_numpy_namespace(xp) else xp.asarray(host)
    if xp is None:
        xp = get_xp(x)
    if isinstance(x, np.ndarray) and x.dtype == object:
        raise TypeError(f"`{name}` must have a numeric dtype; got dtype object.")
    kinds = (kind,) if isinstance(kind, str) else tuple(kind)
    try:
        ok_kind = any(xp.isdtype(x.dtype, k) for k in kinds)
    except Exception:
        ok_kind = False
    if not ok_kind:
        raise TypeError(f"`{name}` must have a dtype of kind {' or '.join(kinds)}; got {x.dtype}.")
    if ndim is not None:
        allowed = (ndim,) if isinstance(ndim, int) else tuple(ndim)
        if x.ndim not in allowed:
            raise ValueError(
                f"`{name}` must have {' or '.join(map(str, allowed))} dimension(s); "
                f"got shape {tuple(x.shape)} ({x.ndim} dimension(s))."
            )
    if min_ndim is not None and x.ndim < min_ndim:
        raise ValueError(f"`{name}` must have at least {min_ndim} dimension(s); got shape {tuple(x.shape)}.")
    if shape is not None:
        if x.ndim != len(shape) or any(s is not None and s != d for s, d in zip(shape, x.shape)):
            want = "(" + ", ".join("any" if s is None else str(s) for s in shape) + ")"
            raise ValueError(f"`{name}` must have shape {want}; got shape {tuple(x.shape)}.")
    if finite:
        check_finite(x, name, xp)
    return x


def check_rng(rng: Any) -> np.random.Generator:
    """Normalise ``rng`` (None, int seed, SeedSequence or Generator) to a NumPy Generator.

    Examples
    --------
    >>> import numpy as np
    >>> from sensing import check_rng
    >>> float(check_rng(0).random()) == float(np.random.default_rng(0).random())   # a seed
    True
    >>> check_rng(np.random.RandomState(0))
    Traceback (most recent call last):
        ...
    TypeError: `rng` must be a seed or a numpy.random.Generator; legacy RandomState is not accepted.
    """
    if isinstance(rng, np.random.Generator):
        return rng
    if rng is None or isinstance(rng, (numbers.Integral, np.random.SeedSequence)) and not isinstance(rng, bool):
        if isinstance(rng, numbers.Integral) and rng < 0:
            raise ValueError(f"`rng` seed must be a non-negative integer; got {rng}.")
        return np.random.default_rng(rng)
    if isinstance(rng, np.random.RandomState):
        raise TypeError("`rng` must be a seed or a numpy.random.Generator; legacy RandomState is not accepted.")
    raise TypeError(f"`rng` must be None, an integer seed or a numpy.random.Generator; got {type(rng).__name__}.")


def check_divides(delta: int, n: int, name: str, size_name: str) -> int:
    """Check that the integer ``delta`` >= 1 divides ``n``.

    Examples
    --------
    >>> from sensing import check_divides
    >>> check_divides(4, 64, "decimation", "n_subcarriers")
    4
    >>> check_divides(5, 12, "decimation", "n_subcarriers")
    Traceback (most recent call last):
        ...
    ValueError: `decimation` must divide n_subcarriers = 12 (one of [1, 2, 3, 4, 6, 12]); got 5.
    """
    delta = check_int(delta, name, low=1, high=n)
    if n % delta:
        divisors = [d for d in range(1, n + 1) if n % d == 0]
        raise ValueError(
            f"`{name}` must divide {size_name} = {n} (one of {divisors}); got {delta}."
        )
    return delta
