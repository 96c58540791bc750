"""Datasets as HDF5 files: save a frozen dataclass, load it back into the same class.

A dataset is a (frozen) dataclass whose fields are arrays, Python scalars, strings, ``None``,
tuples/lists, dicts or further dataclasses (a configuration, the ground truth, a
:class:`channels.Paths`). :func:`save_dataset` writes it with h5py so that it can be read from
MATLAB (``h5read``/``h5readatt``) and from any HDF5 tool; :func:`load_dataset` rebuilds the very
same dataclass. Nothing is ever pickled, and only classes from this repository's packages are
imported when loading. The layout is documented in ``docs/datasets.md``:

* the root group holds the dataset's fields; nested dataclasses and dicts become sub-groups;
* arrays become HDF5 datasets: complex values (arrays, scalars and attributes alike) as the
  compound type ``{real, imag}`` of two IEEE floats, which Octave's ``load -hdf5`` reads as
  complex numbers and MATLAB's ``h5read`` returns as a struct with fields ``real`` and ``imag``
  (h5py's own default ``{r, i}`` reads as all zeros in Octave, silently, so it is not used; files
  written with it by format version 1 still load); bool arrays as ``uint8`` 0/1;
* a dataset whose name ends in a unit suffix (``_s``, ``_hz``, ``_m``, ``_m2``, ``_rad``,
  ``_deg``, ``_mps``, ``_db``, ``_dbm``) carries the attribute ``units`` (``"s"``, ``"Hz"``, ...,
  see :data:`UNIT_SUFFIXES`); a dataclass field may declare its axes with
  ``field(metadata={"dims": ("antenna", "subcarrier", "symbol")})``, written as the string-array
  attribute ``dimension_labels`` in C (row-major, h5py/NumPy) order, slowest axis first;
* scalars, strings and small tuples/lists become attributes of their group;
* every group has the attribute ``_fields``: a JSON object mapping each field name to its kind
  (``"array"``, ``"float"``, ``"tuple:int"``, ``"dataclass"``, ...), in field order, so that
  the loader restores Python types exactly (``None`` fields are listed there and stored nowhere);
* dataclass groups carry ``class = "module:QualName"``; the root group also carries
  ``format``, ``format_version``, ``package_version``, ``seed``, ``created_utc`` and the caller's
  ``attrs``.
"""

from __future__ import annotations

import dataclasses
import importlib
import json
import numbers
import os
from collections.abc import Iterable, Mapping
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import array_api_compat as aac
import numpy as np

from ._backend import to_numpy
from ._files import atomic_write

__all__ = ["save_dataset", "load_dataset", "dataset_info", "FORMAT_NAME", "FORMAT_VERSION",
           "COMPLEX_MEMBERS", "UNIT_SUFFIXES"]

FORMAT_NAME = "subspace-sensing-dataset"
#: 1: complex values as h5py's compound ``{r, i}``; 2: as ``{real, imag}`` plus ``units`` and
#: ``dimension_labels`` attributes. Both are read.
FORMAT_VERSION = 2

#: Member names of the compound type complex values are written with (Octave's ``load -hdf5``
#: recognises exactly these; MATLAB's ``h5read`` gives a struct with these fields).
COMPLEX_MEMBERS = ("real", "imag")
# compound member names read back as complex: the current ones and format 1's (h5py default)
_COMPLEX_MEMBER_SETS = (COMPLEX_MEMBERS, ("r", "i"))

#: Field-name suffix -> the ``units`` attribute written on datasets of that name (longest
#: suffix first where one ends another; names without a known suffix get no ``units``).
UNIT_SUFFIXES = {"_mps": "m/s", "_dbm": "dBm", "_db": "dB", "_hz": "Hz", "_rad": "rad",
                 "_deg": "degree", "_m2": "m2", "_m": "m", "_s": "s"}

#: Packages whose classes :func:`load_dataset` may import from a file's ``class`` attribute.
ALLOWED_PACKAGES = ("sensing", "channels", "estimators", "scenarios")

_META_KEYS = ("format", "format_version", "package_version", "class", "seed", "created_utc")
_GROUP_RESERVED = ("_fields", "class")
# tuples/lists/scalars larger than this go into a dataset instead of an attribute (HDF5's
# compact attribute storage is limited to 64 KiB per object header).
_ATTR_MAX_BYTES = 8192
_INT64 = (-(2**63), 2**63 - 1)


class _MissingFileError(ValueError, FileNotFoundError):
    """A missing file: a ValueError (as every bad input here) that is also a FileNotFoundError."""


# --------------------------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------------------------
def _class_path(cls: type) -> str:
    return f"{cls.__module__}:{cls.__qualname__}"


def _package_version() -> str:
    try:
        from importlib.metadata import version

        return version("subspace-sensing")
    except Exception:  # PackageNotFoundError or a broken installation: fall back to the source
        import sensing

        return str(sensing.__version__)


def _check_path(path: Any, name: str = "path") -> Path:
    if isinstance(path, (str, os.PathLike)):
        p = Path(path)
        if str(path) == "":
            raise ValueError(f"`{name}` must be a non-empty file path; got {path!r}.")
        return p
    raise TypeError(f"`{name}` must be a str or os.PathLike file path; got {type(path).__name__}.")


def _is_array(v: Any) -> bool:
    if isinstance(v, np.ndarray):
        return True
    if isinstance(v, np.generic):
        return False
    # CuPy (whose ndarray has no __array_namespace__ as of CuPy 14) and other
    # array-API arrays (array-api-strict, ...), as array-api-compat recognises them
    return aac.is_array_api_obj(v) and hasattr(v, "shape") and hasattr(v, "dtype")


def _scalar_kind(v: Any) -> str | None:
    """Kind tag of a scalar value, or None when ``v`` is not a scalar."""
    if isinstance(v, (bool, np.bool_)):
        return "bool"
    if isinstance(v, numbers.Integral):
        return "int" if _INT64[0] <= int(v) <= _INT64[1] else "bigint"
    if isinstance(v, numbers.Real):
        return "float"
    if isinstance(v, numbers.Complex):
        return "complex"
    if isinstance(v, str):
        return "str"
    return None


def _units_for(name: str) -> str | None:
    """The unit a field name states by its suffix (``delays_s`` -> ``"s"``), or None."""
    for suffix, unit in UNIT_SUFFIXES.items():
        if name.endswith(suffix) and len(name) > len(suffix):
            return unit
    return None


def _complex_to_stored(value: Any) -> Any:
    """A complex scalar/array -> a structured array ``{real, imag}``; anything else unchanged."""
    if isinstance(value, complex) or (isinstance(value, (np.ndarray, np.generic))
                                      and value.dtype.kind == "c"):
        arr = np.asarray(value)
        part = arr.real.dtype
        out = np.empty(arr.shape, dtype=np.dtype([(COMPLEX_MEMBERS[0], part), (COMPLEX_MEMBERS[1], part)]))
        out[COMPLEX_MEMBERS[0]] = arr.real
        out[COMPLEX_MEMBERS[1]] = arr.imag
        return out
    return value


def _stored_to_complex(value: Any) -> Any:
    """A structured value with members ``{real, imag}`` or ``{r, i}`` of one float type -> complex."""
    dt = getattr(value, "dtype", None)
    names = getattr(dt, "names", None)
    if names is None or tuple(names) not in _COMPLEX_MEMBER_SETS:
        return value
    re_t, im_t = dt.fields[names[0]][0], dt.fields[names[1]][0]
    if re_t != im_t or re_t.kind != "f":
        return value
    arr = np.asarray(value)
    out = np.empty(arr.shape, dtype=np.result_type(re_t, np.complex64))
    out.real = arr[names[0]]
    out.imag = arr[names[1]]
    return out


def _flatten(seq, out: list, container: type) -> bool:
    """Flatten nested tuples/lists of one container type; False if mixed containers."""
    for item in seq:
        if isinstance(item, (tuple, list)):
            if type(item) is not container:
                return False
            if not _flatten(item, out, container):
                return False
        else:
            out.append(item)
    return True


def _compact_sequence(value: tuple | list) -> tuple[str, np.ndarray] | None:
    """(element kind, host array) for a rectangular tuple/list of scalars of one kind, else None."""
    flat: list = []
    if not _flatten(value, flat, type(value)):
        return None
    kinds = {_scalar_kind(x) for x in flat}
    if None in kinds or "bigint" in kinds:
        return None
    if "str" in kinds and kinds != {"str"}:
        return None
    try:
        arr = np.asarray(value)
    except ValueError:  # ragged
        return None
    if arr.dtype == object:
        return None
    if kinds == {"str"}:
        return "str", arr
    if not kinds:  # empty sequence
        return "float", np.asarray(value, dtype=np.float64)
    # the widest kind wins (bools among ints become ints: True == 1 still compares equal)
    k = next(k for k in ("complex", "float", "int", "bool") if k in kinds)
    dtype = {"complex": np.complex128, "float": np.float64, "int": np.int64, "bool": np.uint8}[k]
    return k, np.asarray(value, dtype=dtype)


def _restore_sequence(arr: np.ndarray, elem: str, container: type):
    if elem == "str":
        data = np.asarray(arr, dtype=object)
        flat = [x.decode("utf-8") if isinstance(x, bytes) else str(x) for x in data.ravel()]
        data = np.asarray(flat, dtype=object).reshape(data.shape) if flat else np.asarray(
            [], dtype=object).reshape(data.shape)
        lst = data.tolist()
    else:
        cast = {"bool": bool, "int": np.int64, "float": np.float64, "complex": np.complex128}[elem]
        lst = np.asarray(arr).astype(cast).tolist()

    def conv(x):
        return container(conv(i) for i in x) if isinstance(x, list) else x

    return conv(lst)


# --------------------------------------------------------------------------------------------
# writing
# --------------------------------------------------------------------------------------------
class _Writer:
    def __init__(self, compression: str | None, compression_level: int, compress_min_bytes: int):
        self.compression = compression
        self.level = compression_level
        self.min_bytes = compress_min_bytes

    def _dataset(self, group, name: str, arr: np.ndarray, where: str):
        kw: dict[str, Any] = {"track_times": False}
        if self.compression is not None and arr.ndim > 0 and arr.nbytes >= self.min_bytes:
            kw.update(compression=self.compression, compression_opts=self.level)
        try:
            return group.create_dataset(name, data=_complex_to_stored(arr), **kw)
        except (TypeError, ValueError) as exc:
            raise TypeError(f"`{where}` cannot be stored in HDF5 (dtype {arr.dtype}): {exc}") from exc

    def _small(self, group, name: str, value: Any, reserved: set[str], where: str):
        """A scalar or small array as an attribute, or as a dataset when too big or reserved."""
        nbytes = np.asarray(value).nbytes if not isinstance(value, str) else len(value.encode())
        if name in reserved or nbytes > _ATTR_MAX_BYTES:
            if isinstance(value, str):
                import h5py

                group.create_dataset(name, data=value, dtype=h5py.string_dtype(), track_times=False)
            else:
                self._annotate(self._dataset(group, name, np.asarray(value), where), name, None, where)
        else:
            group.attrs[name] = _complex_to_stored(value)

    @staticmethod
    def _annotate(ds, name: str, dims: Any, where: str) -> None:
        """``units`` from the name's suffix and ``dimension_labels`` from the field's metadata."""
        import h5py

        unit = _units_for(name)
        if unit is not None:
            ds.attrs["units"] = unit
        if dims is None:
            return
        if isinstance(dims, str) or not isinstance(dims, (tuple, list)) \
                or not all(isinstance(d, str) and d for d in dims):
            raise TypeError(f"`{where}` declares metadata dims={dims!r}; expected a tuple of non-empty str.")
        if len(dims) != ds.ndim:
            raise ValueError(f"`{where}` declares {len(dims)} dims {tuple(dims)} but has shape {ds.shape}.")
        ds.attrs.create("dimension_labels", np.asarray(dims, dtype=object), dtype=h5py.string_dtype())

    def encode(self, group, name: str, value: Any, reserved: set[str], where: str, dims: Any = None) -> str:
        """Store ``value`` under ``name`` in ``group``; return its kind tag."""
        import h5py

        if value is None:
            return "none"
        if dataclasses.is_dataclass(value) and not isinstance(value, type):
            self.write_dataclass(group.create_group(name, track_order=True), value, where)
            return "dataclass"
        kind = _scalar_kind(value)
        if kind is not None:
            if kind == "bool":
                self._small(group, name, np.uint8(bool(value)), reserved, where)
            elif kind == "int":
                self._small(group, name, np.int64(int(value)), reserved, where)
            elif kind == "bigint":
                self._small(group, name, str(int(value)), reserved, where)
            elif kind == "float":
                self._small(group, name, np.float64(value), reserved, where)
            elif kind == "complex":
                self._small(group, name, np.complex128(value), reserved, where)
            else:
                self._small(group, name, str(value), reserved, where)
            return kind
        if isinstance(value, os.PathLike):
            self._small(group, name, os.fspath(value), reserved, where)
            return "path"
        if _is_array(value):
            arr = to_numpy(value)
            if arr.dtype == np.bool_:
                self._annotate(self._dataset(group, name, arr.astype(np.uint8), where), name, dims, where)
                return "bool_array"
            if arr.dtype.kind == "U":
                ds = group.create_dataset(name, data=arr.astype(object), dtype=h5py.string_dtype(),
                                          track_times=False)
                ds.attrs["numpy_dtype"] = arr.dtype.str
                self._annotate(ds, name, dims, where)
                return "str_array"
            if arr.dtype.kind not in "iufc":
                raise TypeError(
                    f"`{where}` must be an array of bool, integer, float, complex or str dtype; "
                    f"got dtype {arr.dtype}."
                )
            self._annotate(self._dataset(group, name, arr, where), name, dims, where)
            return "array"
        if isinstance(value, (tuple, list)):
            container = "tuple" if isinstance(value, tuple) else "list"
            compact = _compact_sequence(value)
            if compact is not None:
                elem, arr = compact
                if elem == "str":
                    data = np.asarray(arr, dtype=object)
                    if name in reserved or sum(len(s.encode()) for s in data.ravel()) > _ATTR_MAX_BYTES:
                        group.create_dataset(name, data=data, dtype=h5py.string_dtype(), track_times=False)
                    else:
                        group.attrs.create(name, data, dtype=h5py.string_dtype())
                else:
                    self._small(group, name, arr, reserved, where)
                return f"{container}:{elem}"
            sub = group.create_group(name, track_order=True)
            kinds = {}
            for i, item in enumerate(value):
                kinds[str(i)] = self.encode(sub, str(i), item, set(_GROUP_RESERVED), f"{where}[{i}]")
            sub.attrs["_fields"] = json.dumps(kinds)
            return f"{container}:group"
        if isinstance(value, Mapping):
            sub = group.create_group(name, track_order=True)
            kinds = {}
            for key, item in value.items():
                if not isinstance(key, str) or not key or "/" in key or key in (".", ".."):
                    raise ValueError(
                        f"`{where}` keys must be non-empty strings without '/'; got {key!r}."
                    )
                kinds[key] = self.encode(sub, key, item, set(_GROUP_RESERVED), f"{where}[{key!r}]")
            sub.attrs["_fields"] = json.dumps(kinds)
            return "dict"
        raise TypeError(
            f"`{where}` has type {type(value).__name__}, which a dataset cannot hold; use arrays, "
            "numbers, str, bool, None, paths, tuples/lists, dicts or dataclasses."
        )

    def write_dataclass(self, group, obj: Any, where: str, reserved: Iterable[str] = ()):
        group.attrs["class"] = _class_path(type(obj))
        res = set(_GROUP_RESERVED) | set(reserved)
        kinds = {}
        for f in dataclasses.fields(obj):
            if not f.init:
                continue  # derived in __post_init__; rebuilt on load
            kinds[f.name] = self.encode(group, f.name, getattr(obj, f.name), res, f"{where}.{f.name}",
                                        dims=f.metadata.get("dims"))
        group.attrs["_fields"] = json.dumps(kinds)


def _attr_value(value: Any, name: str) -> Any:
    """Validate and convert one user attribute."""
    kind = _scalar_kind(value)
    if kind == "bool":
        return np.uint8(bool(value))
    if kind == "int":
        return np.int64(int(value))
    if kind in ("bigint", "str"):
        return str(value)
    if kind in ("float", "complex"):
        return value
    if isinstance(value, (tuple, list)):
        compact = _compact_sequence(value)
        if compact is not None:
            return compact[1] if compact[0] != "str" else np.asarray(compact[1], dtype=object)
    if isinstance(value, np.ndarray) and value.dtype.kind in "biuf" and value.nbytes <= _ATTR_MAX_BYTES:
        return value
    raise TypeError(
        f"`attrs[{name!r}]` must be a number, str, bool or a short flat sequence of them; "
        f"got {type(value).__name__}."
    )


def save_dataset(path: str | os.PathLike, dataset: Any, *, seed: int | None = None,
                 attrs: Mapping[str, Any] | None = None, compression: str | None = "gzip",
                 compression_level: int = 4, compress_min_bytes: int = 65536) -> Path:
    """Write a dataclass dataset to an HDF5 file, atomically.

    Parameters
    ----------
    path : str or os.PathLike
        Output file (conventionally ``*.h5``). Its folder must exist. An existing file is
        replaced only once the new one is complete (temporary file in the same folder, fsync,
        :func:`os.replace`), so a crash never leaves a half-written dataset under ``path``.
    dataset : dataclass instance
        The dataset. Fields may be NumPy/CuPy/array-API arrays (copied to host with
        :func:`sensing.to_numpy`), Python or NumPy scalars, ``str``, ``bool``, ``None``, paths,
        tuples/lists (of numbers, of strings, or of any of these), dicts with ``str`` keys,
        and nested dataclasses (stored as groups).
    seed : int, optional
        Root seed the dataset was generated from; stored as the root attribute ``seed``.
    attrs : mapping of str to scalar, optional
        Extra root attributes (numbers, strings, bools, short flat sequences). Their names must
        not clash with the reserved ``format``, ``format_version``, ``package_version``,
        ``class``, ``seed``, ``created_utc`` or ``_fields``.
    compression : {"gzip", None}, default="gzip"
        Filter for arrays of at least ``compress_min_bytes`` bytes (gzip is readable by MATLAB
        and every HDF5 tool). Smaller arrays are stored contiguous.
    compression_level : int, default=4
        gzip level in [0, 9].
    compress_min_bytes : int, default=65536
        Size threshold for compression [bytes].

    Returns
    -------
    pathlib.Path
        The path written.

    Raises
    ------
    TypeError
        If ``dataset`` is not a dataclass instance or holds a value that cannot be stored
        (the message names the field, e.g. ``dataset.truth.gains``).
    ValueError
        Bad ``path`` folder, ``seed``, ``attrs`` names or compression options.

    Notes
    -----
    Saving the same dataset twice gives identical HDF5 contents apart from ``created_utc``
    (object timestamps are not recorded). Complex values use the compound type ``{real, imag}``
    (readable as complex by Octave's ``load -hdf5``; MATLAB's ``h5read`` gives a struct with
    fields ``real`` and ``imag``). CuPy arrays come back from :func:`load_dataset` as NumPy arrays.

    Examples
    --------
    >>> import dataclasses, pathlib, tempfile
    >>> import numpy as np
    >>> from sensing import load_dataset, save_dataset
    >>> @dataclasses.dataclass(frozen=True)
    ... class Toy:
    ...     channel: np.ndarray
    ...     snr_db: float
    ...     labels: tuple
    >>> toy = Toy(np.ones((2, 3), dtype=complex), 10.0, ("a", "b"))
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     path = save_dataset(pathlib.Path(tmp) / "toy.h5", toy, seed=7, attrs={"note": "demo"})
    ...     back = load_dataset(path, Toy)                 # cls: a class defined outside the packages
    >>> path.name, back.channel.dtype, back.snr_db, back.labels
    ('toy.h5', dtype('complex128'), 10.0, ('a', 'b'))
    """
    import h5py

    p = _check_path(path)
    if not (dataclasses.is_dataclass(dataset) and not isinstance(dataset, type)):
        raise TypeError(f"`dataset` must be a dataclass instance; got {type(dataset).__name__}.")
    if seed is not None:
        if isinstance(seed, (bool, np.bool_)) or not isinstance(seed, numbers.Integral):
            raise TypeError(f"`seed` must be a non-negative integer or None; got {seed!r}.")
        if not 0 <= int(seed) <= _INT64[1]:
            raise ValueError(f"`seed` must be an integer in [0, 2**63 - 1]; got {seed}.")
    if compression not in ("gzip", None):
        raise ValueError(f"`compression` must be one of 'gzip', None; got {compression!r}.")
    if isinstance(compression_level, bool) or not isinstance(compression_level, numbers.Integral) \
            or not 0 <= compression_level <= 9:
        raise ValueError(f"`compression_level` must be an integer in [0, 9]; got {compression_level!r}.")
    if isinstance(compress_min_bytes, bool) or not isinstance(compress_min_bytes, numbers.Integral) \
            or compress_min_bytes < 0:
        raise ValueError(f"`compress_min_bytes` must be an integer >= 0; got {compress_min_bytes!r}.")
    user_attrs: dict[str, Any] = {}
    if attrs is not None:
        if not isinstance(attrs, Mapping):
            raise TypeError(f"`attrs` must be a mapping of str to scalars; got {type(attrs).__name__}.")
        for key, value in attrs.items():
            if not isinstance(key, str) or not key or "/" in key:
                raise ValueError(f"`attrs` keys must be non-empty strings without '/'; got {key!r}.")
            if key in _META_KEYS or key in _GROUP_RESERVED:
                raise ValueError(
                    f"`attrs` key {key!r} is reserved (reserved: {', '.join(_META_KEYS + _GROUP_RESERVED)})."
                )
            user_attrs[key] = _attr_value(value, key)
    folder = p.parent if str(p.parent) else Path(".")
    if not folder.is_dir():
        raise ValueError(f"`path` folder {str(folder)!r} does not exist; create it first (got path={str(p)!r}).")
    if p.is_dir():
        raise ValueError(f"`path` must be a file, not a folder; got {str(p)!r}.")

    writer = _Writer(compression, int(compression_level), int(compress_min_bytes))
    def write(tmp):
        with h5py.File(tmp, "w", track_order=True) as h5:
            h5.attrs["format"] = FORMAT_NAME
            h5.attrs["format_version"] = np.int64(FORMAT_VERSION)
            h5.attrs["package_version"] = _package_version()
            if seed is not None:
                h5.attrs["seed"] = np.int64(int(seed))
            h5.attrs["created_utc"] = datetime.now(timezone.utc).isoformat(timespec="seconds")
            for key, value in user_attrs.items():
                if isinstance(value, np.ndarray) and value.dtype == object:
                    h5.attrs.create(key, value, dtype=h5py.string_dtype())
                else:
                    h5.attrs[key] = _complex_to_stored(value)
            writer.write_dataclass(h5, dataset, "dataset", reserved=set(_META_KEYS) | set(user_attrs))

    atomic_write(p, write)
    return p


# --------------------------------------------------------------------------------------------
# reading
# --------------------------------------------------------------------------------------------
def _py_attr(value: Any) -> Any:
    """HDF5 attribute value -> plain Python value."""
    if isinstance(value, bytes):
        return value.decode("utf-8")
    value = _stored_to_complex(value)
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        if value.dtype == object:
            return [v.decode("utf-8") if isinstance(v, bytes) else v for v in value.tolist()]
        return value.tolist()
    return value


def _open(path: Any):
    import h5py

    p = _check_path(path)
    if not p.exists():
        raise _MissingFileError(f"`path` {str(p)!r} does not exist.")
    if p.is_dir():
        raise ValueError(f"`path` {str(p)!r} is a folder, not a subspace-sensing dataset file.")
    try:
        h5 = h5py.File(p, "r")
    except OSError as exc:
        raise ValueError(
            f"`path` {str(p)!r} is not a readable HDF5 file (truncated, corrupt or another format): {exc}"
        ) from exc
    try:
        if "format" not in h5.attrs:
            raise ValueError(f"`path` {str(p)!r} is not a subspace-sensing dataset (no 'format' attribute).")
        fmt = _py_attr(h5.attrs["format"])
        if fmt != FORMAT_NAME:
            raise ValueError(
                f"`path` {str(p)!r} is not a subspace-sensing dataset (format {fmt!r}, expected {FORMAT_NAME!r})."
            )
        version = _py_attr(h5.attrs.get("format_version", -1))
        if not isinstance(version, int) or not 1 <= version <= FORMAT_VERSION:
            raise ValueError(
                f"`path` {str(p)!r} has format_version {version!r}; this package reads versions "
                f"1..{FORMAT_VERSION} (upgrade subspace-sensing to read newer files)."
            )
    except BaseException:
        h5.close()
        raise
    return p, h5


def dataset_info(path: str | os.PathLike) -> dict[str, Any]:
    """Root attributes of a dataset file as plain Python values.

    Returns ``format``, ``format_version``, ``package_version``, ``class``, ``seed`` (when
    saved), ``created_utc``, the ``attrs`` given to :func:`save_dataset`, and the root
    dataclass's scalar fields (the internal ``_fields`` table is left out).

    Raises
    ------
    ValueError
        If ``path`` is missing, not HDF5, or not a subspace-sensing dataset.

    Examples
    --------
    >>> import dataclasses, pathlib, tempfile
    >>> import numpy as np
    >>> from sensing import dataset_info, save_dataset
    >>> @dataclasses.dataclass(frozen=True)
    ... class Toy:
    ...     x: np.ndarray
    ...     n_targets: int
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     path = save_dataset(pathlib.Path(tmp) / "toy.h5", Toy(np.zeros(4), 2), seed=7, attrs={"note": "demo"})
    ...     info = dataset_info(path)
    >>> info["seed"], info["note"], info["n_targets"], info["format_version"] >= 1
    (7, 'demo', 2, True)
    >>> sorted(info)
    ['class', 'created_utc', 'format', 'format_version', 'n_targets', 'note', 'package_version', 'seed']
    """
    p, h5 = _open(path)
    try:
        return {k: _py_attr(v) for k, v in h5.attrs.items() if k != "_fields"}
    except (OSError, KeyError, RuntimeError) as exc:
        raise ValueError(f"`path` {str(p)!r} is corrupt or truncated: {exc}") from exc
    finally:
        h5.close()


def _import_class(module: str, qualname: str) -> Any:
    obj: Any = importlib.import_module(module)
    for part in qualname.split("."):
        obj = getattr(obj, part)
    return obj


class _Reader:
    def __init__(self, registry: dict[str, type], fname: str):
        self.registry = registry
        self.fname = fname

    def _resolves_to(self, class_path: str, expected: type) -> bool:
        try:
            return self.resolve(class_path) is expected
        except ValueError:
            return False

    def resolve(self, class_path: str) -> type:
        if class_path in self.registry:
            return self.registry[class_path]
        module, _, qualname = class_path.partition(":")
        top = module.split(".")[0]
        if top not in ALLOWED_PACKAGES or not qualname or "<" in qualname:
            raise ValueError(
                f"`path` {self.fname!r} stores class {class_path!r}; only classes from the packages "
                f"{', '.join(ALLOWED_PACKAGES)} are imported automatically. Pass the class itself as "
                "`cls` (or in `classes`) to load it."
            )
        try:
            obj: Any = _import_class(module, qualname)
        except (ImportError, AttributeError) as exc:
            try:  # a file written before the defining module moved: the package's public name
                obj = _import_class(top, qualname)
            except (ImportError, AttributeError):
                raise ValueError(
                    f"`path` {self.fname!r} stores class {class_path!r}, which cannot be imported: {exc}"
                ) from exc
        if not (isinstance(obj, type) and dataclasses.is_dataclass(obj)):
            raise ValueError(f"`path` {self.fname!r} stores class {class_path!r}, which is not a dataclass.")
        return obj

    @staticmethod
    def _kinds(group, where: str, fname: str) -> dict[str, str]:
        if "_fields" not in group.attrs:
            raise ValueError(f"`path` {fname!r}: group {group.name!r} ({where}) has no '_fields' table.")
        try:
            kinds = json.loads(_py_attr(group.attrs["_fields"]))
        except (TypeError, json.JSONDecodeError) as exc:
            raise ValueError(f"`path` {fname!r}: group {group.name!r} has a corrupt '_fields' table.") from exc
        if not isinstance(kinds, dict):
            raise ValueError(f"`path` {fname!r}: group {group.name!r} has a corrupt '_fields' table.")
        return kinds

    def _raw(self, group, name: str):
        if name in group:
            return _stored_to_complex(group[name][()])
        if name in group.attrs:
            return _stored_to_complex(group.attrs[name])
        raise ValueError(f"`path` {self.fname!r}: {group.name!r} lacks the field {name!r}.")

    def decode(self, group, name: str, kind: str) -> Any:
        if kind == "none":
            return None
        if kind == "dataclass":
            return self.read_dataclass(group[name])
        if kind == "dict":
            sub = group[name]
            return {k: self.decode(sub, k, v) for k, v in self._kinds(sub, name, self.fname).items()}
        if kind in ("tuple:group", "list:group"):
            sub = group[name]
            items = [self.decode(sub, k, v) for k, v in self._kinds(sub, name, self.fname).items()]
            return tuple(items) if kind == "tuple:group" else items
        if kind == "array":
            return np.asarray(_stored_to_complex(group[name][()]))
        if kind == "bool_array":
            return np.asarray(group[name][()]).astype(np.bool_)
        if kind == "str_array":
            ds = group[name]
            data = ds.asstr()[()]
            return np.asarray(data, dtype=str(_py_attr(ds.attrs.get("numpy_dtype", "U"))))
        raw = self._raw(group, name)
        if kind == "bool":
            return bool(np.asarray(raw).item())
        if kind == "int":
            return int(np.asarray(raw).item())
        if kind == "bigint":
            return int(_py_attr(raw))
        if kind == "float":
            return float(np.asarray(raw).item())
        if kind == "complex":
            return complex(np.asarray(raw).item())
        if kind in ("str", "path"):
            value = raw.decode("utf-8") if isinstance(raw, bytes) else raw
            value = str(value.item() if isinstance(value, np.ndarray) else value)
            return Path(value) if kind == "path" else value
        container, _, elem = kind.partition(":")
        if container in ("tuple", "list") and elem in ("bool", "int", "float", "complex", "str"):
            return _restore_sequence(np.asarray(raw), elem, tuple if container == "tuple" else list)
        raise ValueError(f"`path` {self.fname!r}: field {group.name}/{name} has an unknown kind {kind!r}.")

    def read_dataclass(self, group, expected: type | None = None) -> Any:
        if "class" not in group.attrs:
            raise ValueError(f"`path` {self.fname!r}: group {group.name!r} has no 'class' attribute.")
        class_path = _py_attr(group.attrs["class"])
        if expected is not None and class_path != _class_path(expected) and not (
                class_path.partition(":")[0].split(".")[0] in ALLOWED_PACKAGES
                and self._resolves_to(class_path, expected)):
            raise ValueError(
                f"`cls` {_class_path(expected)!r} does not match the class stored in "
                f"{self.fname!r}: {class_path!r}."
            )
        cls = expected if expected is not None else self.resolve(class_path)
        kinds = self._kinds(group, class_path, self.fname)
        init_fields = {f.name: f for f in dataclasses.fields(cls) if f.init}
        unknown = [k for k in kinds if k not in init_fields]
        if unknown:
            raise ValueError(
                f"`path` {self.fname!r}: stored fields {unknown} are not fields of {class_path!r}; "
                "the file was written by a different version of that class."
            )
        missing = [n for n, f in init_fields.items() if n not in kinds
                   and f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING]
        if missing:
            raise ValueError(f"`path` {self.fname!r}: {class_path!r} fields {missing} are missing from the file.")
        kwargs = {k: self.decode(group, k, v) for k, v in kinds.items()}
        try:
            return cls(**kwargs)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"`path` {self.fname!r}: cannot rebuild {class_path!r} from the file: {exc}") from exc


def load_dataset(path: str | os.PathLike, cls: type | None = None, *, classes: Iterable[type] = ()) -> Any:
    """Load a dataset written by :func:`save_dataset` back into its dataclass.

    Parameters
    ----------
    path : str or os.PathLike
        Dataset file.
    cls : dataclass type, optional
        Expected class of the root dataset. When given, it must match the stored ``class``
        attribute and is used directly (so classes outside this repository's packages, e.g.
        defined in your own script, can be loaded). Default: import the stored class, which is
        allowed only for modules in the packages ``sensing``, ``channels``, ``estimators`` and
        ``scenarios``; no other code is ever imported.
    classes : iterable of dataclass types, default=()
        Further classes allowed for nested groups (matched by ``module:QualName``).

    Returns
    -------
    dataclass instance
        Equal field by field to the saved one: arrays come back as NumPy arrays with the saved
        dtype and shape, tuples as tuples, lists as lists, ``None`` as ``None``.

    Raises
    ------
    ValueError
        Missing file, not HDF5, truncated/corrupt, not a subspace-sensing dataset, newer
        format version, a class that may not be imported, or fields that do not fit the class.
    TypeError
        If ``cls`` or ``classes`` are not dataclass types.

    Examples
    --------
    >>> import dataclasses, pathlib, tempfile
    >>> import numpy as np
    >>> from sensing import load_dataset, save_dataset
    >>> @dataclasses.dataclass(frozen=True)
    ... class Toy:
    ...     x: np.ndarray
    ...     extra: list
    ...     note: str | None = None
    >>> toy = Toy(np.arange(6.0).reshape(2, 3), [1, 2])
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     path = save_dataset(pathlib.Path(tmp) / "toy.h5", toy)
    ...     back = load_dataset(path, Toy)
    >>> bool(np.array_equal(back.x, toy.x)), back.extra, back.note
    (True, [1, 2], None)
    >>> try:                                               # a ValueError (also a FileNotFoundError)
    ...     load_dataset("missing.h5")
    ... except ValueError as exc:
    ...     print(exc)
    `path` 'missing.h5' does not exist.
    """
    registry: dict[str, type] = {}
    for i, c in enumerate(([cls] if cls is not None else []) + list(classes)):
        if not (isinstance(c, type) and dataclasses.is_dataclass(c)):
            name = "cls" if cls is not None and i == 0 else "classes"
            raise TypeError(f"`{name}` must hold dataclass types; got {c!r}.")
        registry[_class_path(c)] = c
    p, h5 = _open(path)
    try:
        return _Reader(registry, str(p)).read_dataclass(h5, cls)
    except (OSError, KeyError, RuntimeError) as exc:
        raise ValueError(f"`path` {str(p)!r} is corrupt or truncated: {exc}") from exc
    finally:
        h5.close()
