"""The documented install works offline: a fresh venv that sees the system's packages (numpy, setuptools, wheel),
`pip install --no-build-isolation --no-index ./python`, then the package imports from outside the repository, from the
venv, reports its version, and reads a store on that interpreter's numpy (Debian's 1.24 where that is the one)."""

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from conftest import IN_CI, REPO

#: Modules the offline build needs: setuptools (the backend), wheel (setuptools before 70.1 builds wheels with it),
#: venv and pip (the venv and the install), numpy (the dependency, seen through --system-site-packages).
BUILD_MODULES = ["setuptools", "wheel", "venv", "ensurepip", "pip", "numpy"]


def can_build(python):
    if not python or not Path(python).exists():
        return False
    probe = "import importlib, sys; [importlib.import_module(m) for m in sys.argv[1:]]"
    return subprocess.run([python, "-c", probe, *BUILD_MODULES], capture_output=True).returncode == 0


def installer():
    """The interpreter to install with: this one if it has the build tools, else Debian's (which has them with
    python3-pip and python3-venv, the packages the README names)."""
    for python in (sys.executable, "/usr/bin/python3"):
        if can_build(python):
            return python
    message = ("no python3 here has " + ", ".join(BUILD_MODULES) + " for an offline install"
               " (Debian: apt-get install python3-venv python3-pip python3-numpy)")
    if IN_CI:
        pytest.fail(message)
    pytest.skip(message)


def maven_version():
    pom = (REPO / "pom.xml").read_text(encoding="utf-8")
    return re.search(r"<artifactId>embstore[^<]*</artifactId>\s*<version>([^<]+)</version>", pom).group(1)


def test_pip_install_offline_into_a_fresh_venv(tmp_path, make_store):
    python = installer()
    # A copy of what pip reads (pyproject.toml and the package): setuptools builds in the source directory, and the
    # test must leave the repository as it was.
    source = tmp_path / "src"
    source.mkdir()
    shutil.copy(REPO / "python" / "pyproject.toml", source)
    shutil.copytree(REPO / "python" / "embstore", source / "embstore",
                    ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    venv = tmp_path / "venv"
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME", "PIP_REQUIRE_VIRTUALENV")}
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    subprocess.run([python, "-m", "venv", "--system-site-packages", str(venv)], check=True, env=env, cwd=tmp_path)
    pip = subprocess.run([str(venv / "bin" / "pip"), "install", "--no-build-isolation", "--no-index", str(source)],
                         capture_output=True, text=True, env=env, cwd=tmp_path)
    assert pip.returncode == 0, f"pip install failed with {python}:\n{pip.stdout[-3000:]}\n{pip.stderr[-3000:]}"

    rng = np.random.default_rng(3)
    words = ["café", "new york", "w0", "w1", "w2"]
    vectors = rng.standard_normal((len(words), 8)).astype(np.float32)
    store = make_store(words, vectors)
    probe = (
        "import importlib.metadata, json, sys\n"
        "import numpy as np\n"
        "import embstore\n"
        "with embstore.open(sys.argv[1]) as s:\n"
        "    by_word = s['café'].tolist()\n"
        "    gathered = s.gather(np.array([[1, 0]])).tolist()\n"
        "    nearest = s.most_similar('w0', topn=2)\n"
        "print(json.dumps({'file': embstore.__file__, 'version': embstore.__version__,\n"
        "                  'metadata': importlib.metadata.version('embstore'), 'numpy': np.__version__,\n"
        "                  'by_word': by_word, 'gathered': gathered, 'nearest': [w for w, _ in nearest]}))\n"
    )
    # Run from outside the repository, without PYTHONPATH: the import can only come from the venv.
    result = subprocess.run([str(venv / "bin" / "python"), "-c", probe, str(store)], capture_output=True, text=True,
                            env=env, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    found = json.loads(result.stdout)
    print(f"installed with {python} (numpy {found['numpy']}): {found['file']}")
    assert Path(found["file"]).resolve().is_relative_to(venv.resolve()), \
        f"embstore was imported from {found['file']}, not from the venv {venv}"
    assert found["metadata"] == found["version"], "pip's version and embstore.__version__ differ"
    # One source of truth for the version: embstore.__version__ (pyproject.toml reads it), which follows the Maven
    # project's version: 0.1.0-SNAPSHOT there is 0.1.0 or a 0.1.0 pre-release here.
    assert found["version"].startswith(maven_version().removesuffix("-SNAPSHOT")), \
        f"embstore.__version__ {found['version']} does not follow the Maven version {maven_version()}"
    np.testing.assert_array_equal(np.array(found["by_word"], np.float32), vectors[0])
    np.testing.assert_array_equal(np.array(found["gathered"], np.float32), vectors[[1, 0]][None])
    assert len(found["nearest"]) == 2 and "w0" not in found["nearest"]
