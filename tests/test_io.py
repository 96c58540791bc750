"""HDF5 datasets: round trip, layout, determinism, atomic writes, bad and foreign files."""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass
from pathlib import Path

import h5py
import numpy as np
import pytest

from channels import Paths
from sensing import Numerology, dataset_info, load_dataset, save_dataset


@dataclass(frozen=True)
class Config:
    n_antennas: int = 8
    snr_db: float = 10.0
    carrier_hz: float = 26e9
    name: str = "demo"
    quick: bool = False
    snr_grid_db: tuple = (-10.0, 0.0, 10.0)
    shape: tuple = (2, 3)
    estimators: tuple = ("music", "esprit")
    fft_size: int | None = None
    seed: int = 5


@dataclass(frozen=True)
class Truth:
    angles_rad: np.ndarray
    ranges_m: np.ndarray
    labels: list


@dataclass(frozen=True)
class Dataset:
    received: np.ndarray          # complex (n_ant, n_sc, n_sym)
    symbols: np.ndarray           # complex64
    mask: np.ndarray              # bool
    counts: np.ndarray            # int32
    names: np.ndarray             # str array
    scalar_array: np.ndarray      # 0-d
    paths: Paths
    numerology: Numerology
    truth: Truth
    config: Config
    extras: dict
    nested: tuple
    note: str | None = None
    big: int = 2**70
    gain: complex = 1 - 2j
    source: Path = Path("scenes/street.json")


def _make(rng, n_sym=7) -> Dataset:
    paths = Paths.from_arrays(rng.standard_normal(3) + 1j * rng.standard_normal(3), rng.random(3) * 1e-6,
                              doppler_hz=rng.standard_normal(3) * 100, aoa_az_rad=rng.uniform(-1, 1, 3))
    return Dataset(
        received=rng.standard_normal((4, 6, n_sym)) + 1j * rng.standard_normal((4, 6, n_sym)),
        symbols=(rng.standard_normal((6, n_sym)) + 1j * rng.standard_normal((6, n_sym))).astype(np.complex64),
        mask=rng.random(5) > 0.5,
        counts=rng.integers(0, 10, 5).astype(np.int32),
        names=np.array(["a", "bé", "ccc"]),
        scalar_array=np.array(3.5),
        paths=paths,
        numerology=Numerology(26e9, 60e3, 6, n_sym),
        truth=Truth(rng.uniform(-1, 1, 2), rng.uniform(10, 100, 2), ["t0", "t1"]),
        config=Config(),
        extras={"beam": rng.standard_normal(3), "weight": 0.5, "tag": "x", "inner": {"k": 1}},
        nested=(1, "two", None, (3.0, 4.0), Config(n_antennas=4)),
    )


def _assert_equal(a, b, where="dataset"):
    assert type(a) is type(b), f"{where}: {type(a)} != {type(b)}"
    if dataclasses.is_dataclass(a):
        for f in dataclasses.fields(a):
            _assert_equal(getattr(a, f.name), getattr(b, f.name), f"{where}.{f.name}")
    elif isinstance(a, np.ndarray):
        assert a.dtype == b.dtype and a.shape == b.shape, f"{where}: {a.dtype}{a.shape} != {b.dtype}{b.shape}"
        np.testing.assert_array_equal(a, b, err_msg=where)
    elif isinstance(a, dict):
        assert list(a) == list(b), where
        for k in a:
            _assert_equal(a[k], b[k], f"{where}[{k!r}]")
    elif isinstance(a, (tuple, list)):
        assert len(a) == len(b), where
        for i, (x, y) in enumerate(zip(a, b)):
            _assert_equal(x, y, f"{where}[{i}]")
    else:
        assert a == b, f"{where}: {a!r} != {b!r}"


def test_round_trip_rebuilds_same_dataclass(tmp_path, rng):
    ds = _make(rng)
    out = save_dataset(tmp_path / "d.h5", ds, seed=42, attrs={"scenario": "isac-ofdm", "snr_db": (0.0, 10.0)})
    assert out == tmp_path / "d.h5"
    back = load_dataset(out, Dataset, classes=[Truth, Config])
    _assert_equal(ds, back)
    # tuples stay tuples, lists stay lists, None stays None
    assert isinstance(back.config.snr_grid_db, tuple) and isinstance(back.config.shape, tuple)
    assert isinstance(back.truth.labels, list) and back.config.fft_size is None and back.note is None


def test_numerology_and_paths_load_without_cls(tmp_path, rng):
    ds = _make(rng)
    save_dataset(tmp_path / "p.h5", ds.paths)
    save_dataset(tmp_path / "n.h5", ds.numerology)
    _assert_equal(load_dataset(tmp_path / "p.h5"), ds.paths)      # channels._paths:Paths imported
    _assert_equal(load_dataset(tmp_path / "n.h5"), ds.numerology)


def test_layout_is_plain_hdf5(tmp_path, rng):
    """What MATLAB's h5read/h5readatt see (docs/datasets.md)."""
    ds = _make(rng)
    save_dataset(tmp_path / "d.h5", ds, seed=7, attrs={"scenario": "isac"})
    with h5py.File(tmp_path / "d.h5", "r") as h5:
        assert h5.attrs["format"] == "subspace-sensing-dataset"
        assert h5.attrs["format_version"] == 1
        assert h5.attrs["seed"] == 7 and h5.attrs["scenario"] == "isac"
        assert h5.attrs["class"] == f"{__name__}:Dataset"
        assert isinstance(h5.attrs["package_version"], str) and h5.attrs["created_utc"].endswith("+00:00")
        rec = h5["received"]
        htype = rec.id.get_type()                                   # the on-disk HDF5 type
        assert isinstance(htype, h5py.h5t.TypeCompoundID)           # compound {r, i}
        assert [htype.get_member_name(i) for i in range(htype.get_nmembers())] == [b"r", b"i"]
        assert rec.shape == (4, 6, 7)
        np.testing.assert_array_equal(rec[()], ds.received)
        assert h5["mask"].dtype == np.uint8
        assert h5["paths"].attrs["class"] == "channels._paths:Paths"
        np.testing.assert_array_equal(h5["paths/delays_s"][()], ds.paths.delays_s)
        assert h5["numerology"].attrs["carrier_hz"] == 26e9          # scalars are attributes
        assert h5["numerology"].attrs["n_subcarriers"] == 6
        assert h5["config"].attrs["name"] == "demo"
        assert list(h5["config"].attrs["snr_grid_db"]) == [-10.0, 0.0, 10.0]
        assert h5["config"].attrs["seed"] == 5
        assert "fft_size" not in h5["config"] and "fft_size" not in h5["config"].attrs


def test_root_fields_named_like_metadata(tmp_path):
    """A root field called `seed` or `class` cannot be an attribute: it becomes a 0-d dataset."""

    @dataclass(frozen=True)
    class Run:
        seed: int
        format: str
        scenario: str

    save_dataset(tmp_path / "r.h5", Run(seed=11, format="mine", scenario="a"), seed=3,
                 attrs={"scenario": "isac"})
    with h5py.File(tmp_path / "r.h5", "r") as h5:
        assert h5.attrs["seed"] == 3 and h5["seed"][()] == 11
        assert h5.attrs["format"] == "subspace-sensing-dataset" and h5["format"][()] == b"mine"
        assert h5.attrs["scenario"] == "isac" and h5["scenario"][()] == b"a"
    assert load_dataset(tmp_path / "r.h5", Run) == Run(seed=11, format="mine", scenario="a")


def test_large_arrays_are_gzip_compressed(tmp_path, rng):
    ds = _make(rng, n_sym=400)  # received is 4*6*400*16 B = 150 kB
    save_dataset(tmp_path / "c.h5", ds)
    save_dataset(tmp_path / "u.h5", ds, compression=None)
    with h5py.File(tmp_path / "c.h5") as a, h5py.File(tmp_path / "u.h5") as b:
        assert a["received"].compression == "gzip" and a["counts"].compression is None
        assert b["received"].compression is None
    _assert_equal(load_dataset(tmp_path / "c.h5", Dataset, classes=[Truth, Config]), ds)


def _walk(path):
    items = {}
    with h5py.File(path, "r") as h5:
        def visit(name, obj):
            attrs = {k: v for k, v in obj.attrs.items()}
            data = obj[()] if isinstance(obj, h5py.Dataset) else None
            items[name] = (attrs, data)
        items["/"] = ({k: v for k, v in h5.attrs.items() if k != "created_utc"}, None)
        h5.visititems(visit)
    return items


def test_same_dataset_saved_twice_is_identical(tmp_path):
    ds1 = _make(np.random.default_rng(3))
    ds2 = _make(np.random.default_rng(3))  # same seed, regenerated: same dataset
    save_dataset(tmp_path / "a.h5", ds1, seed=3)
    save_dataset(tmp_path / "b.h5", ds2, seed=3)
    a, b = _walk(tmp_path / "a.h5"), _walk(tmp_path / "b.h5")
    assert a.keys() == b.keys() and len(a) > 20
    for name in a:
        (attrs_a, data_a), (attrs_b, data_b) = a[name], b[name]
        assert attrs_a.keys() == attrs_b.keys(), name
        for k in attrs_a:
            np.testing.assert_array_equal(attrs_a[k], attrs_b[k], err_msg=f"{name}@{k}")
        if data_a is not None:
            np.testing.assert_array_equal(data_a, data_b, err_msg=name)
    # and a different seed changes the data
    save_dataset(tmp_path / "c.h5", _make(np.random.default_rng(4)), seed=4)
    c = _walk(tmp_path / "c.h5")
    assert not np.array_equal(a["received"][1], c["received"][1])


def test_write_is_atomic_and_leaves_no_temp_files(tmp_path, rng, monkeypatch):
    ds = _make(rng)
    target = tmp_path / "d.h5"
    save_dataset(target, ds, seed=1)
    before = target.read_bytes()

    @dataclass(frozen=True)
    class Bad:
        ok: np.ndarray
        bad: object

    with pytest.raises(TypeError, match=r"dataset\.bad"):
        save_dataset(target, Bad(np.zeros(3), object()))
    assert target.read_bytes() == before                      # old file untouched
    assert sorted(p.name for p in tmp_path.iterdir()) == ["d.h5"]  # temp file removed

    calls = []
    real_replace = os.replace
    monkeypatch.setattr(os, "replace", lambda a, b: (calls.append((a, b)), real_replace(a, b))[1])
    save_dataset(target, ds, seed=2)
    assert len(calls) == 1 and Path(calls[0][0]).parent == tmp_path and Path(calls[0][1]) == target


def test_cupy_like_arrays_go_to_host(tmp_path, xp):
    from conftest import to_xp

    @dataclass(frozen=True)
    class Holder:
        x: object

    host = np.arange(6.0).reshape(2, 3)
    save_dataset(tmp_path / "h.h5", Holder(to_xp(xp, host)))
    back = load_dataset(tmp_path / "h.h5", Holder)
    assert isinstance(back.x, np.ndarray)
    np.testing.assert_array_equal(back.x, host)


def test_dataset_info(tmp_path, rng):
    save_dataset(tmp_path / "d.h5", _make(rng).numerology, seed=9, attrs={"trials": 3, "quick": True})
    info = dataset_info(tmp_path / "d.h5")
    assert info["format"] == "subspace-sensing-dataset" and info["format_version"] == 1
    assert info["seed"] == 9 and info["trials"] == 3 and info["quick"] == 1
    assert info["class"] == "sensing._ofdm:Numerology"
    assert "_fields" not in info


# ------------------------------------------------------------------ bad and foreign files
def test_missing_file(tmp_path):
    with pytest.raises(ValueError, match="does not exist"):
        load_dataset(tmp_path / "nope.h5")
    with pytest.raises(FileNotFoundError):  # also catchable as the OS error it is
        dataset_info(tmp_path / "nope.h5")


def test_not_hdf5_and_truncated(tmp_path, rng):
    (tmp_path / "text.h5").write_text("hello")
    with pytest.raises(ValueError, match=r"text\.h5.*not a readable HDF5 file"):
        load_dataset(tmp_path / "text.h5")
    save_dataset(tmp_path / "d.h5", _make(rng, n_sym=200), compression=None)
    raw = (tmp_path / "d.h5").read_bytes()
    (tmp_path / "cut.h5").write_bytes(raw[: len(raw) // 2])
    with pytest.raises(ValueError, match=r"cut\.h5"):
        load_dataset(tmp_path / "cut.h5", Dataset, classes=[Truth, Config])


def test_foreign_hdf5(tmp_path):
    with h5py.File(tmp_path / "foreign.h5", "w") as h5:
        h5["x"] = np.arange(3)
    with pytest.raises(ValueError, match=r"not a subspace-sensing dataset \(no 'format' attribute\)"):
        load_dataset(tmp_path / "foreign.h5")
    with h5py.File(tmp_path / "other.h5", "w") as h5:
        h5.attrs["format"] = "something-else"
    with pytest.raises(ValueError, match="format 'something-else'"):
        dataset_info(tmp_path / "other.h5")
    with h5py.File(tmp_path / "newer.h5", "w") as h5:
        h5.attrs["format"] = "subspace-sensing-dataset"
        h5.attrs["format_version"] = 99
    with pytest.raises(ValueError, match="format_version 99"):
        load_dataset(tmp_path / "newer.h5")


def test_only_repository_classes_are_imported(tmp_path, rng):
    ds = _make(rng)
    save_dataset(tmp_path / "d.h5", ds)
    with pytest.raises(ValueError, match="only classes from the packages"):
        load_dataset(tmp_path / "d.h5")                       # test module: not importable by path
    with pytest.raises(ValueError, match="only classes from the packages"):
        load_dataset(tmp_path / "d.h5", Dataset)              # nested Truth not allowed either
    with h5py.File(tmp_path / "d.h5", "r+") as h5:
        h5.attrs["class"] = "os:system"
    with pytest.raises(ValueError, match="'os:system'"):
        load_dataset(tmp_path / "d.h5")
    save_dataset(tmp_path / "n.h5", ds.numerology)
    with h5py.File(tmp_path / "n.h5", "r+") as h5:
        h5.attrs["class"] = "sensing._ofdm:SPEED_OF_LIGHT"
    with pytest.raises(ValueError, match="not a dataclass"):
        load_dataset(tmp_path / "n.h5")
    with pytest.raises(ValueError, match="does not match the class stored"):
        load_dataset(tmp_path / "d.h5", Config)


def test_fields_that_do_not_fit_the_class(tmp_path, rng):
    save_dataset(tmp_path / "n.h5", _make(rng).numerology)
    with h5py.File(tmp_path / "n.h5", "r+") as h5:
        h5.attrs["n_subcarriers"] = np.int64(0)               # violates Numerology's validation
    with pytest.raises(ValueError, match="cannot rebuild 'sensing._ofdm:Numerology'.*n_subcarriers"):
        load_dataset(tmp_path / "n.h5")


@pytest.mark.parametrize("kwargs, exc, match", [
    ({"dataset": 3}, TypeError, "`dataset` must be a dataclass instance"),
    ({"seed": -1}, ValueError, r"`seed` must be an integer in \[0"),
    ({"seed": 1.5}, TypeError, "`seed` must be a non-negative integer"),
    ({"attrs": {"format": "x"}}, ValueError, "`attrs` key 'format' is reserved"),
    ({"attrs": {"x": object()}}, TypeError, r"`attrs\['x'\]`"),
    ({"attrs": [1]}, TypeError, "`attrs` must be a mapping"),
    ({"compression": "lzf"}, ValueError, "`compression` must be one of"),
    ({"compression_level": 11}, ValueError, "`compression_level`"),
])
def test_save_rejects_bad_arguments(tmp_path, rng, kwargs, exc, match):
    args = {"dataset": _make(rng).numerology, **kwargs}
    with pytest.raises(exc, match=match):
        save_dataset(tmp_path / "x.h5", args.pop("dataset"), **args)


def test_save_rejects_bad_paths_and_values(tmp_path):
    @dataclass(frozen=True)
    class Obj:
        x: object

    with pytest.raises(ValueError, match="`path` folder .* does not exist"):
        save_dataset(tmp_path / "missing" / "x.h5", Obj(1.0))
    with pytest.raises(TypeError, match="`path` must be a str or os.PathLike"):
        save_dataset(3, Obj(1.0))
    with pytest.raises(TypeError, match=r"`dataset\.x` must be an array of bool, integer"):
        save_dataset(tmp_path / "x.h5", Obj(np.array([object()])))
    with pytest.raises(ValueError, match=r"`dataset\.x` keys must be non-empty strings"):
        save_dataset(tmp_path / "x.h5", Obj({"a/b": 1}))
    with pytest.raises(TypeError, match="`classes` must hold dataclass types"):
        load_dataset(tmp_path / "x.h5", classes=[int])


@pytest.mark.parametrize("old_path", ["estimators._results:LineEstimate", "estimators._music:LineEstimate"])
def test_files_written_before_a_module_moved_still_load(tmp_path, old_path):
    """A class path of the flat pre-subpackage layout resolves through the package's public name."""
    from estimators import LineEstimate, music
    from sensing import steering_vector, ula

    g = ula(6, 0.5)
    x = steering_vector(g, np.array([-0.3, 0.4]), wavelength_m=1.0) @ np.ones((2, 8))
    r = music(x + 0.01 * np.arange(48).reshape(6, 8), n_sources=2, geometry=g, wavelength_m=1.0)
    save_dataset(tmp_path / "r.h5", r)
    with h5py.File(tmp_path / "r.h5", "r+") as h5:
        assert h5.attrs["class"] == "estimators.subspace._results:LineEstimate"
        h5.attrs["class"] = old_path
    for back in (load_dataset(tmp_path / "r.h5"), load_dataset(tmp_path / "r.h5", LineEstimate)):
        assert type(back) is LineEstimate
        np.testing.assert_array_equal(back.estimates, r.estimates)
    with h5py.File(tmp_path / "r.h5", "r+") as h5:
        h5.attrs["class"] = "estimators._gone:NoSuchResult"
    with pytest.raises(ValueError, match="cannot be imported"):
        load_dataset(tmp_path / "r.h5")
