"""The README's install sequence, in a fresh virtual environment, offline.

``pip install .``, run something that compiles the numba kernels, then ``pip install -e .`` in
the same environment: numba used to leave its cache files in ``site-packages/channels/__pycache__``
(pip does not know them, so the uninstall left the folder), and that folder then shadowed the
editable install as a namespace package (``ImportError: cannot import name 'Paths' from
'channels' (unknown location)``). numba's cache now lives in a per-user folder
(:mod:`sensing._numba_cache`).

The fresh environment is a plain ``venv`` (no ``--system-site-packages``, which would see this
checkout's editable install): it reaches the already installed dependencies (numpy, numba, ...)
through a ``.pth`` file naming a folder of links to this environment's site-packages entries,
less this package's own (its modules, dist-info and editable-install hooks). Nothing is
downloaded and nothing of this environment is changed: pip runs as ``pip --python NEW``, the
wheel and the editable install are built from a copy of the sources with
``--no-build-isolation`` (hence ``setuptools>=77`` in the ``test`` extra).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("sensing", "channels", "estimators", "scenarios")
OWN = (*PACKAGES, "subspace_sensing", "__editable__", "__editable___subspace_sensing")

# compiles one cache=True kernel of channels and one of estimators (a few seconds, cold cache)
RUN_KERNELS = """
import numpy as np
import channels, estimators, sensing
from channels import _kernels as ck
from estimators.subspace import _kernels as ek
w = ck.grid_factors(np.zeros((1, 2)), np.zeros((1, 2)), np.arange(4.0), np.arange(3.0))
out = np.zeros((1, 8))
ek.trig_poly_kernel(np.ones((1, 3), complex), np.linspace(-1.0, 1.0, 8), out)
assert w.shape == (1, 2, 12) and np.all(np.isfinite(out))
print(sensing.__file__)
"""


def _copy_sources(dst: Path) -> Path:
    dst.mkdir()
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        shutil.copy2(ROOT / name, dst / name)
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "*.nbi", "*.nbc")
    for pkg in PACKAGES:
        shutil.copytree(ROOT / pkg, dst / pkg, ignore=ignore)
    return dst


def _dependency_view(dst: Path) -> Path:
    """A folder of links to this environment's site-packages entries, less this package's."""
    dst.mkdir()
    seen = set()
    for key in ("purelib", "platlib"):
        site = Path(sysconfig.get_paths()[key])
        if site in seen or not site.is_dir():
            continue
        seen.add(site)
        for entry in site.iterdir():
            if entry.name.startswith(OWN) or entry.suffix == ".pth" or (dst / entry.name).exists():
                continue
            (dst / entry.name).symlink_to(entry, target_is_directory=entry.is_dir())
    return dst


def _run(cmd, *, env, cwd, timeout=180):
    out = subprocess.run(cmd, env=env, cwd=cwd, capture_output=True, text=True, timeout=timeout)
    assert out.returncode == 0, f"{' '.join(map(str, cmd))} failed ({out.returncode}):\n{out.stdout}\n{out.stderr}"
    return out


def _numba_files(site: Path) -> list[str]:
    return sorted(str(f.relative_to(site)) for pkg in PACKAGES if (site / pkg).exists()
                  for f in (site / pkg).rglob("*") if f.suffix in (".nbi", ".nbc"))


@pytest.mark.slow
def test_install_run_then_editable_install_in_one_venv(tmp_path):
    src = _copy_sources(tmp_path / "src")
    work = tmp_path / "work"  # cwd of every command: neither the checkout nor the copy
    work.mkdir()
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
    py = venv / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
    bindir = py.parent
    site = Path(subprocess.run([str(py), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                               capture_output=True, text=True, check=True).stdout.strip())
    (site / "zz_dependencies.pth").write_text(str(_dependency_view(tmp_path / "deps")) + "\n")

    env = {k: v for k, v in os.environ.items()
           if k not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV", "NUMBA_CACHE_DIR", "PIP_USER")}
    env.update(PATH=f"{bindir}{os.pathsep}{env.get('PATH', '')}", VIRTUAL_ENV=str(venv),
               XDG_CACHE_HOME=str(tmp_path / "cache"), PIP_NO_INDEX="1", PIP_DISABLE_PIP_VERSION_CHECK="1",
               PYTHONNOUSERSITE="1")
    pip = [sys.executable, "-m", "pip", "--python", str(py)]

    # the fresh environment does not see this checkout
    probe = subprocess.run([str(py), "-c", "import channels"], env=env, cwd=work, capture_output=True, text=True)
    assert probe.returncode != 0, "the fresh venv imports `channels` before anything was installed"

    # README command 1: a regular install (from a wheel built offline), then a first run
    wheels = tmp_path / "wheels"
    _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index",
          "-w", str(wheels), str(src)], env=env, cwd=work)
    (wheel,) = wheels.glob("subspace_sensing-*.whl")
    _run([*pip, "install", "--no-deps", "--no-index", str(wheel)], env=env, cwd=work)
    for pkg in PACKAGES:
        assert (site / pkg / "py.typed").is_file(), f"{pkg}/py.typed is not installed"
    ran = _run([str(py), "-c", RUN_KERNELS], env=env, cwd=work)
    assert Path(ran.stdout.strip()).resolve().is_relative_to(site.resolve()), ran.stdout

    # the kernels were cached, in the per-user cache folder and not inside the installed packages
    assert _numba_files(site) == []
    cached = list((tmp_path / "cache" / "subspace-sensing" / "numba").rglob("*.nbi"))
    assert {f.name.split(".")[1].split("-")[0] for f in cached} >= {"grid_factors", "trig_poly_kernel"}

    # README command 2 in the same environment: the editable install replaces the regular one
    _run([*pip, "install", "--no-deps", "--no-index", "--no-build-isolation", "-e", str(src)], env=env, cwd=work)
    left = [pkg for pkg in PACKAGES if (site / pkg).exists()]
    assert left == [], f"the uninstall left folders behind in site-packages: {left}"
    listed = _run([str(bindir / "subsense"), "list"], env=env, cwd=work)
    assert "isac-ofdm" in listed.stdout
    where = _run([str(py), "-c", "import channels, sensing; print(channels.Paths.__module__, sensing.__file__)"],
                 env=env, cwd=work)
    assert Path(where.stdout.split()[-1]).resolve().is_relative_to(src.resolve()), where.stdout


def test_citation_cff_and_one_version():
    """CITATION.cff is valid YAML with the CFF 1.2.0 keys, and every version is the package's."""
    import tomllib

    import sensing
    from sensing import _version

    text = (ROOT / "CITATION.cff").read_text(encoding="utf-8")
    try:
        import yaml
    except ImportError:  # pragma: no cover - pyyaml is in the test extra; a minimal check then
        top = {line.split(":", 1)[0]: line.split(":", 1)[1].strip().strip('"')
               for line in text.splitlines() if line and not line[0].isspace() and ":" in line}
        refs = text.count("\n  - type: ")
        arxiv = [s.split('"')[1] for s in text.splitlines() if "arXiv:" in s and "value" in s]
    else:
        top = yaml.safe_load(text)
        refs = len(top["references"])
        arxiv = [i["value"] for r in top["references"] for i in r["identifiers"]]
        assert all(r["authors"] and r["title"] and r["year"] for r in top["references"])
    assert str(top["cff-version"]) == "1.2.0"
    assert {"message", "title", "authors", "version", "license"} <= set(top)
    assert str(top["license"]) == "MIT"
    assert refs == 3 and sorted(arxiv) == ["arXiv:2502.00811", "arXiv:2503.21242", "arXiv:2605.16141"]

    assert sensing.__version__ == _version.__version__ == str(top["version"])
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    assert "version" not in project["project"] and "version" in project["project"]["dynamic"]
    assert project["tool"]["setuptools"]["dynamic"]["version"] == {"attr": "sensing._version.__version__"}
    assert "Copyright (c) 2026 subspace-sensing developers" in (ROOT / "LICENSE").read_text(encoding="utf-8")
    assert "## [Unreleased]" in (ROOT / "CHANGELOG.md").read_text(encoding="utf-8")
    for pkg in PACKAGES:
        assert (ROOT / pkg / "py.typed").is_file()
        assert project["tool"]["setuptools"]["package-data"][pkg] == ["py.typed"]
