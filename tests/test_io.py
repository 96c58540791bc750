"""HDF5 datasets: round trip, layout, determinism, atomic writes, bad and foreign files."""

from __future__ import annotations

import dataclasses
import os
import re
import shutil
import subprocess
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
        assert h5.attrs["format_version"] == 2
        assert h5.attrs["seed"] == 7 and h5.attrs["scenario"] == "isac"
        assert h5.attrs["class"] == f"{__name__}:Dataset"
        assert isinstance(h5.attrs["package_version"], str) and h5.attrs["created_utc"].endswith("+00:00")
        rec = h5["received"]
        assert rec.shape == (4, 6, 7)
        # complex values: the on-disk HDF5 type is the compound {real, imag} of two IEEE floats of
        # the array's precision (what Octave's load -hdf5 reads as complex), never h5py's {r, i}
        for name, obj, ftype in (("received", rec, h5py.h5t.IEEE_F64LE),
                                 ("symbols", h5["symbols"], h5py.h5t.IEEE_F32LE),
                                 ("paths/gains", h5["paths/gains"], h5py.h5t.IEEE_F64LE)):
            htype = obj.id.get_type()
            assert isinstance(htype, h5py.h5t.TypeCompoundID), name
            assert [htype.get_member_name(i) for i in range(htype.get_nmembers())] == [b"real", b"imag"], name
            assert [htype.get_member_offset(i) for i in range(2)] == [0, ftype.get_size()], name
            assert all(htype.get_member_type(i).equal(ftype) for i in range(2)), name
        raw = rec[()]
        np.testing.assert_array_equal(raw["real"], ds.received.real)
        np.testing.assert_array_equal(raw["imag"], ds.received.imag)
        gain = h5.attrs["gain"]                                     # complex scalars alike
        assert gain.dtype.names == ("real", "imag") and (gain["real"], gain["imag"]) == (1.0, -2.0)
        # units from the field-name suffix, on datasets only; no unit where the name states none
        assert h5["paths/delays_s"].attrs["units"] == "s"
        assert h5["paths/doppler_hz"].attrs["units"] == "Hz"
        assert h5["truth/angles_rad"].attrs["units"] == "rad" and h5["truth/ranges_m"].attrs["units"] == "m"
        assert "units" not in h5["received"].attrs and "units" not in h5["paths/gains"].attrs
        assert "dimension_labels" not in h5["received"].attrs       # no axes declared: none invented
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
    assert info["format"] == "subspace-sensing-dataset" and info["format_version"] == 2
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


# ------------------------------------------------------------------ complex layout, units, axes
def test_files_with_the_format_1_complex_layout_still_load(tmp_path, rng, monkeypatch):
    """Format 1 stored complex values as h5py's default compound {r, i}: still read."""
    import sensing._io as io

    ds = _make(rng)
    with monkeypatch.context() as m:                       # write exactly as format 1 did
        m.setattr(io, "_complex_to_stored", lambda value: value)
        m.setattr(io, "FORMAT_VERSION", 1)
        save_dataset(tmp_path / "v1.h5", ds, attrs={"phase": 1j})
    with h5py.File(tmp_path / "v1.h5", "r") as h5:
        assert h5.attrs["format_version"] == 1
        htype = h5["received"].id.get_type()
        assert [htype.get_member_name(i) for i in range(htype.get_nmembers())] == [b"r", b"i"]
    _assert_equal(load_dataset(tmp_path / "v1.h5", Dataset, classes=[Truth, Config]), ds)
    assert dataset_info(tmp_path / "v1.h5")["phase"] == 1j
    save_dataset(tmp_path / "v2.h5", ds, attrs={"phase": 1j})
    assert dataset_info(tmp_path / "v2.h5")["phase"] == 1j


def test_complex_precision_and_scalars_round_trip(tmp_path):
    @dataclass(frozen=True)
    class C:
        c64: np.ndarray
        c128_0d: np.ndarray
        gain: complex
        gains: tuple
        seed: complex        # a reserved root name: stored as a 0-d dataset

    obj = C(np.array([1 + 2j, -3.5j], np.complex64), np.array(2 - 1j), 0.5 + 0.25j, (1j, 2 + 0j, -1 - 1j), 3j)
    save_dataset(tmp_path / "c.h5", obj)
    back = load_dataset(tmp_path / "c.h5", C)
    _assert_equal(back, obj)
    with h5py.File(tmp_path / "c.h5", "r") as h5:
        assert h5["c64"].dtype == np.dtype([("real", "<f4"), ("imag", "<f4")])
        assert h5.attrs["gains"].dtype.names == ("real", "imag")
        assert h5["seed"].dtype.names == ("real", "imag")


def test_compound_arrays_that_are_not_complex_are_left_alone():
    from sensing._io import _stored_to_complex

    other = np.zeros(2, dtype=[("real", "<f8"), ("imag", "<i4")])   # mixed member types
    assert _stored_to_complex(other) is other
    named = np.zeros(2, dtype=[("x", "<f8"), ("y", "<f8")])
    assert _stored_to_complex(named) is named
    old = np.array([(1.0, 2.0)], dtype=[("r", "<f4"), ("i", "<f4")])
    back = _stored_to_complex(old)
    assert back.dtype == np.complex64 and back[0] == 1 + 2j


def test_units_from_name_suffixes():
    from sensing._io import _units_for

    expected = {"delays_s": "s", "doppler_hz": "Hz", "distances_m": "m", "rcs_m2": "m2",
                "azimuths_rad": "rad", "azimuths_deg": "degree", "velocities_mps": "m/s",
                "snr_db": "dB", "power_dbm": "dBm"}
    for name, unit in expected.items():
        assert _units_for(name) == unit, name
    for name in ("gains", "received", "n_antennas", "spacing_wavelengths", "_s", "names", "kms"):
        assert _units_for(name) is None, name


def test_declared_dimension_labels(tmp_path):
    @dataclass(frozen=True)
    class Cube:
        received: np.ndarray = dataclasses.field(metadata={"dims": ("antenna", "subcarrier", "symbol")})
        delays_s: np.ndarray = dataclasses.field(metadata={"dims": ("path",)})

    cube = Cube(np.ones((2, 3, 4), complex), np.arange(3.0))
    save_dataset(tmp_path / "d.h5", cube)
    with h5py.File(tmp_path / "d.h5", "r") as h5:
        assert list(h5["received"].attrs["dimension_labels"].astype(str)) == ["antenna", "subcarrier", "symbol"]
        assert list(h5["delays_s"].attrs["dimension_labels"].astype(str)) == ["path"]
        assert h5["delays_s"].attrs["units"] == "s"
    _assert_equal(load_dataset(tmp_path / "d.h5", Cube), cube)
    with pytest.raises(ValueError, match=r"`dataset\.received` declares 3 dims .* shape \(2, 3\)"):
        save_dataset(tmp_path / "bad.h5", Cube(np.ones((2, 3)), np.arange(3.0)))

    @dataclass(frozen=True)
    class BadDims:
        x: np.ndarray = dataclasses.field(metadata={"dims": "antenna"})

    with pytest.raises(TypeError, match="expected a tuple of non-empty str"):
        save_dataset(tmp_path / "bad.h5", BadDims(np.ones(2)))


# ------------------------------------------------------------------ independent readers
def _flagship_dataset():
    """A small isac-ofdm realisation: the flagship scenario's dataset class, as `run` writes it."""
    from dataclasses import replace

    from scenarios.isac_ofdm import default_config, generate

    return generate(replace(default_config(), n_subcarriers=16, n_symbols=8), rng=11)


@pytest.mark.skipif(shutil.which("h5dump") is None, reason="needs h5dump (Debian: hdf5-tools)")
def test_h5dump_sees_real_imag_compounds_and_units(tmp_path):
    """The HDF5 library's own dumper (no h5py) sees the documented layout and values."""
    ds = _flagship_dataset()
    path = save_dataset(tmp_path / "dataset.h5", ds, seed=11)
    header = subprocess.run(["h5dump", "-H", str(path)], capture_output=True, text=True, check=True).stdout
    compound = re.compile(r'DATATYPE\s+H5T_COMPOUND\s*\{\s*H5T_IEEE_F64LE\s+"real";\s*H5T_IEEE_F64LE\s+"imag";\s*\}')
    assert len(compound.findall(header)) >= 4          # received, symbols, channel_estimate, gains...
    assert '"r"' not in header and '"i"' not in header
    units = subprocess.run(["h5dump", "-a", "/truth/delays_s/units", str(path)], capture_output=True,
                           text=True, check=True).stdout
    assert '"s"' in units
    gains = subprocess.run(["h5dump", "-d", "/truth/gains", "-m", "%.17g", str(path)], capture_output=True,
                           text=True, check=True).stdout
    pairs = re.findall(r"\{\s*([-+0-9.eE]+),\s*([-+0-9.eE]+)\s*\}", gains.split("DATA", 1)[1])
    got = np.array([float(a) + 1j * float(b) for a, b in pairs])
    np.testing.assert_array_equal(got, ds.truth.gains)


_OCTAVE = shutil.which("octave-cli") or shutil.which("octave")


@pytest.mark.skipif(_OCTAVE is None, reason="needs GNU Octave (Debian: octave)")
def test_octave_reads_complex_datasets(tmp_path):
    """GNU Octave's `load -hdf5` (an independent HDF5 reader) gets the complex values right.

    With format 1's {r, i} members it returned all zeros, silently. Octave sees the dimensions
    reversed (column-major), so x(:) in Octave is NumPy's C-order ravel.
    """
    ds = _flagship_dataset()
    save_dataset(tmp_path / "dataset.h5", ds, seed=11)
    script = tmp_path / "read.m"
    script.write_text(
        "s = load('-hdf5', 'dataset.h5');\n"
        "function show(name, x)\n"
        "  printf('%s %d %s\\n', name, iscomplex(x), num2str(size(x)));\n"
        "  printf('%.17g %.17g\\n', [real(x(:)) imag(x(:))].');\n"
        "end\n"
        "show('received', s.received); show('gains', s.truth.gains); show('delays_s', s.truth.delays_s);\n"
    )
    run = subprocess.run([_OCTAVE, "--norc", "--no-gui", "--quiet", str(script.name)], cwd=tmp_path,
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    blocks, name = {}, None
    for line in run.stdout.splitlines():
        parts = line.split()
        if parts and parts[0] in ("received", "gains", "delays_s"):
            name = parts[0]
            blocks[name] = {"complex": parts[1] == "1", "size": tuple(int(p) for p in parts[2:]), "values": []}
        elif name is not None and len(parts) == 2:
            blocks[name]["values"].append(float(parts[0]) + 1j * float(parts[1]))
    for key, want in (("received", ds.received), ("gains", ds.truth.gains), ("delays_s", ds.truth.delays_s)):
        got = blocks[key]
        assert got["complex"] == np.iscomplexobj(want), key
        shape = want.shape[::-1] if want.ndim > 1 else (1, want.size)   # Octave: a 1-D set is a row
        assert got["size"] == shape, key
        np.testing.assert_array_equal(np.array(got["values"]), want.ravel(), err_msg=key)
    assert np.count_nonzero(ds.received) == ds.received.size
