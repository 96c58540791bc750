"""The installed packages are this repository's, and the layering has no cycles."""

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("name", ["sensing", "channels", "estimators", "scenarios"])
def test_imported_package_is_this_repository(name):
    mod = __import__(name)
    assert Path(mod.__file__).resolve().is_relative_to(ROOT), mod.__file__


@pytest.mark.parametrize("pkg,forbidden", [
    ("sensing", ["channels", "estimators", "scenarios"]),
    ("channels", ["estimators", "scenarios"]),
    ("estimators", ["scenarios"]),
])
def test_layering(pkg, forbidden):
    code = (f"import sys, {pkg}\n"
            f"bad = [m for m in {forbidden!r} if m in sys.modules]\n"
            "print(','.join(bad))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "", f"{pkg} imports {out.stdout.strip()}"


def test_sensing_does_not_load_matplotlib_or_cupy():
    code = "import sys, sensing; print('matplotlib' in sys.modules, 'cupy' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]


def test_only_backend_imports_cupy():
    hits = []
    for pkg in ("sensing", "channels", "estimators", "scenarios"):
        for f in (ROOT / pkg).rglob("*.py"):
            if f.name == "_backend.py":
                continue
            for line in f.read_text().splitlines():
                s = line.strip()
                if s.startswith(("import cupy", "from cupy")):
                    hits.append(f"{f.relative_to(ROOT)}: {s}")
    assert not hits, hits


def test_console_script_and_module_entry():
    out = subprocess.run([sys.executable, "-m", "scenarios", "list"], capture_output=True, text=True, check=True)
    assert "isac-ofdm" in out.stdout
