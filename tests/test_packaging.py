"""The wheel and the sdist carry the licence, and the wheel works once installed.

``python -m build`` (without build isolation: the test environment already has setuptools) makes
both; the wheel goes into a fresh virtual environment whose dependencies come from this test
run's environment through a ``.pth`` file (no download, no second torch), and the README's first
example runs there, from a directory outside the source tree. The test checks that
``sklearn_regpen`` was imported from the installed wheel, not from the checkout.
"""

from __future__ import annotations

import re
import subprocess
import sys
import sysconfig
import tarfile
import zipfile
from pathlib import Path

import pytest

import sklearn_regpen

ROOT = Path(__file__).resolve().parents[1]


def _run(command, **kwargs):
    result = subprocess.run(command, capture_output=True, text=True, timeout=300, **kwargs)
    assert result.returncode == 0, f"{command}:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    return result


@pytest.fixture(scope="module")
def dist(tmp_path_factory):
    out = tmp_path_factory.mktemp("dist")
    _run([sys.executable, "-m", "build", "--no-isolation", "--sdist", "--wheel",
          "--outdir", str(out), str(ROOT)])  # fmt: skip
    (wheel,) = out.glob("*.whl")
    (sdist,) = out.glob("*.tar.gz")
    return wheel, sdist


def test_wheel_and_sdist_carry_the_licence_and_the_version(dist):
    wheel, sdist = dist
    version = sklearn_regpen.__version__
    assert wheel.name == f"sklearn_regpen-{version}-py3-none-any.whl"
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        metadata = archive.read(f"sklearn_regpen-{version}.dist-info/METADATA").decode()
    assert f"sklearn_regpen-{version}.dist-info/licenses/LICENSE" in names
    assert "License-Expression: BSD-3-Clause" in metadata
    assert f"Version: {version}" in metadata
    assert not [n for n in names if n.startswith(("tests/", "docs/", "benchmarks/"))]
    with tarfile.open(sdist) as archive:
        members = archive.getnames()
    for name in ("LICENSE", "README.md", "CHANGELOG.md", "CITATION.cff", "CONTRIBUTING.md"):
        assert f"sklearn_regpen-{version}/{name}" in members


def test_installed_wheel_runs_the_readme_example(dist, tmp_path):
    wheel, _ = dist
    venv = tmp_path / "venv"
    _run([sys.executable, "-m", "venv", "--without-pip", str(venv)])
    python = venv / "bin" / "python"
    site = Path(_run([str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"])
                .stdout.strip())  # fmt: skip
    # the dependencies (torch, scikit-learn, skorch, ...) from this environment, after the venv's
    (site / "_regpen_deps.pth").write_text(sysconfig.get_path("purelib") + "\n")
    _run([sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps",
          "--no-index", "--disable-pip-version-check", str(wheel)])  # fmt: skip
    readme = (ROOT / "README.md").read_text()
    first_example = re.findall(r"^```python\n(.*?)^```", readme, re.MULTILINE | re.DOTALL)[0]
    script = tmp_path / "example.py"
    script.write_text(
        "import sklearn_regpen\n"
        "print('IMPORTED_FROM', sklearn_regpen.__file__)\n"
        "print('VERSION', sklearn_regpen.__version__)\n" + first_example
    )
    work = tmp_path / "elsewhere"
    work.mkdir()
    result = _run([str(python), "-I", str(script)], cwd=work)
    imported = Path(re.search(r"IMPORTED_FROM (.*)", result.stdout).group(1))
    assert imported.is_relative_to(site), f"imported from {imported}, not the wheel"
    assert f"VERSION {sklearn_regpen.__version__}" in result.stdout
    assert float(re.search(r"accuracy: ([0-9.]+)", result.stdout).group(1)) > 0.9
