"""Fixtures shared by the Python tests: the repository, the CLI (./embstore), the JDK and small JVM helper programs
(python/tests/jvm), and stores built the way users build them (./embstore convert) or, for what the CLI cannot make
(the empty word, a padding row), through the Java library.

The package under test is the source tree's (python/ is put first on sys.path), so the suite needs no install;
test_install.py checks the pip install separately.
"""

import json
import os
import random
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[2]
PACKAGE_ROOT = REPO / "python"
sys.path.insert(0, str(PACKAGE_ROOT))

#: True in CI, where a test must fail rather than skip when something it needs is missing.
IN_CI = os.environ.get("CI") == "true"

#: Words that are hard for a reader: multi-byte UTF-8 (2, 3 and 4 bytes), combining marks (distinct from the
#: precomposed letter), spaces inside a word (GloVe 840B has them; the text formats take the last DIM fields as the
#: vector and the rest as the word), a no-break space, punctuation and digits. All can go through `embstore convert`.
AWKWARD_WORDS = [
    "café", "cafe\u0301", "naïve", "日本語", "語", "🙂", "Ωmega", "new york", "a  b", "x\u00a0y", "l'été",
    "C++", "3.14", "-", "[UNK]", "ß", "İstanbul", "ﬁ",
]


def seed(name):
    """A seed for a randomised test, printed so a failure can be replayed: EMBSTORE_SEED=N fixes it."""
    value = int(os.environ.get("EMBSTORE_SEED") or random.SystemRandom().randrange(2**32))
    print(f"{name}: seed={value} (replay with EMBSTORE_SEED={value})")
    return value


def python_env():
    """The environment for a Python child process that imports the package from the source tree."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(PACKAGE_ROOT), env.get("PYTHONPATH")]))
    return env


def _run(cmd, timeout, check, input_text=None, cwd=None):
    result = subprocess.run(cmd, input=input_text, capture_output=True, text=True, encoding="utf-8",
                            timeout=timeout, cwd=cwd)
    if check and result.returncode != 0:
        raise AssertionError(f"{' '.join(map(str, cmd))} exited with {result.returncode}\n"
                             f"stdout: {result.stdout[-4000:]}\nstderr: {result.stderr[-4000:]}")
    return result


class Cli:
    """The ./embstore launcher, run as a user runs it."""

    def __init__(self, root):
        self.launcher = root / "embstore"
        self.jar = root / "cli" / "target" / "embstore.jar"

    def run(self, *args, check=True, timeout=300):
        return _run([str(self.launcher), *map(str, args)], timeout, check)

    def json(self, *args):
        """The parsed --json output of a command that succeeds."""
        return json.loads(self.run(*args, "--json").stdout)


@pytest.fixture(scope="session")
def repo_root():
    return REPO


@pytest.fixture(scope="session")
def embstore_cli():
    """./embstore, its jar (and JDK 25 AOT cache) built once for the session by running --version."""
    cli = Cli(REPO)
    cli.run("--version", timeout=900)
    assert cli.jar.is_file(), f"./embstore --version did not build {cli.jar}"
    return cli


@pytest.fixture(scope="session")
def jdk():
    """JAVA_HOME of the JDK 25+ that scripts/jdk.sh finds (the one ./embstore and ./run-tests use)."""
    result = _run(["bash", "-c", '. "$1/scripts/jdk.sh" && embstore_find_jdk && printf %s "$JAVA_HOME"', "-", str(REPO)],
                  60, True)
    home = Path(result.stdout)
    assert (home / "bin" / "java").is_file(), f"scripts/jdk.sh gave {home}, which has no bin/java"
    return home


class Jvm:
    """The JVM helper programs of python/tests/jvm, compiled once against the CLI's jar."""

    def __init__(self, java, classpath):
        self.java = java
        self.classpath = classpath

    def command(self, main, *args):
        # Native access: the writer takes its lock with fcntl (OFD) through FFM, as the CLI does.
        return [str(self.java), "-XX:+UseSerialGC", "--enable-native-access=ALL-UNNAMED", "-cp", self.classpath, main,
                *map(str, args)]

    def run(self, main, *args, check=True, timeout=300):
        return _run(self.command(main, *args), timeout, check)

    def popen(self, main, *args):
        return subprocess.Popen(self.command(main, *args), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True, encoding="utf-8")


@pytest.fixture(scope="session")
def jvm(jdk, embstore_cli, tmp_path_factory):
    # Compiled once with javac rather than run with the single-file source launcher, which would compile the
    # source again at every start (a second or two of a shared 2-core machine each time; the kill test starts
    # several writers).
    classes = tmp_path_factory.mktemp("jvm-classes")
    sources = sorted(str(p) for p in (REPO / "python" / "tests" / "jvm").glob("*.java"))
    _run([str(jdk / "bin" / "javac"), "-d", str(classes), "-cp", str(embstore_cli.jar), *sources], 300, True)
    return Jvm(jdk / "bin" / "java", os.pathsep.join([str(embstore_cli.jar), str(classes)]))


def vectors_for(rows, dim, rng, dtype="f32"):
    """Random rows as float32; for an f16 store, values already representable in f16 (so conversion is exact)."""
    values = rng.standard_normal((rows, dim)).astype(np.float32)
    if dtype == "f16":
        values = values.astype(np.float16).astype(np.float32)
    return values


def write_vector_text(path, words, vectors, fmt="word2vec"):
    """A word2vec text file (a 'rows dim' header) or a GloVe one (no header), values exact for float32."""
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        if fmt == "word2vec":
            f.write(f"{len(words)} {vectors.shape[1]}\n")
        for word, row in zip(words, vectors):
            # repr of the float32's exact double value: Float.parseFloat gives back that float32.
            f.write(word + " " + " ".join(repr(float(v)) for v in row) + "\n")


@pytest.fixture(scope="session")
def make_store(embstore_cli, tmp_path_factory):
    """make_store(words, vectors, dtype="f32", fmt="word2vec") -> the directory of a store made with
    `./embstore convert` from a generated text file of those words and vectors."""
    counter = iter(range(1_000_000))

    def make(words, vectors, dtype="f32", fmt="word2vec"):
        work = tmp_path_factory.mktemp(f"converted-{next(counter)}")
        text = work / ("vectors.txt" if fmt == "word2vec" else "glove.txt")
        write_vector_text(text, words, np.asarray(vectors, dtype=np.float32), fmt)
        store = work / "store"
        embstore_cli.run("convert", text, store, "--format", fmt, "--dtype", dtype, "--quiet")
        return store

    return make


@pytest.fixture(scope="session")
def make_java_store(jvm, tmp_path_factory):
    """make_java_store(words, vectors, dtype="f32", padding_index=-1) -> a store created through the Java library
    (jvm/MakeStore.java): for words the CLI cannot take (the empty word, a line break in a word) and for a padding
    row. words=None makes a store without a vocabulary."""
    counter = iter(range(1_000_000))

    def make(words, vectors, dtype="f32", padding_index=-1):
        work = tmp_path_factory.mktemp(f"java-{next(counter)}")
        vectors = np.asarray(vectors, dtype=np.float32)
        spec = work / "rows.txt"
        with open(spec, "w", encoding="ascii") as f:
            for i, vector in enumerate(vectors):
                word = "-" if words is None else words[i].encode("utf-8").hex()
                f.write(word + "\t" + " ".join(repr(float(x)) for x in vector) + "\n")
        store = work / "store"
        jvm.run("MakeStore", "create", store, dtype, padding_index, spec)
        return store

    return make


@pytest.fixture(scope="session")
def torch_or_none():
    """torch if it imports, else None. Tests of to_torch must not skip in CI: without torch they check the
    ImportError that to_torch raises instead."""
    try:
        import torch
    except ImportError:
        return None
    return torch
