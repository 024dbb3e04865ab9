"""Stores made by the JVM side, as users make them: the CLI (``./embstore``) and, for what the CLI cannot express
(words with spaces, the empty word, appends), the library through jvm/MakeStore.java on the single-file source
launcher."""

import functools
import os
import subprocess

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
EMBSTORE = os.path.join(ROOT, "embstore")
MAKE_STORE = os.path.join(ROOT, "python", "tests", "jvm", "MakeStore.java")
JAR = os.path.join(ROOT, "cli", "target", "embstore.jar")


@functools.lru_cache(maxsize=None)
def java():
    """The JDK 25 that scripts/jdk.sh finds; the CLI jar built (the launcher builds it when sources changed)."""
    subprocess.run([EMBSTORE, "--version"], check=True, stdout=subprocess.DEVNULL)
    home = subprocess.run(["bash", "-c", '. scripts/jdk.sh && embstore_find_jdk >&2 && echo "$JAVA_HOME"'],
                          cwd=ROOT, check=True, capture_output=True, text=True).stdout.strip()
    return os.path.join(home, "bin", "java")


def cli(*args, check=True):
    """Runs ``./embstore ARGS``; returns the completed process (stdout and stderr as text)."""
    java()
    result = subprocess.run([EMBSTORE, *map(str, args)], capture_output=True, text=True)
    if check and result.returncode != 0:
        raise AssertionError("embstore %s failed (%d): %s" % (" ".join(map(str, args)), result.returncode,
                                                              result.stderr))
    return result


def _rows_file(path, words, vectors):
    with open(path, "w", encoding="ascii") as f:
        for i, vector in enumerate(vectors):
            word = "-" if words is None else words[i].encode("utf-8").hex()
            f.write("%s\t%s\n" % (word, " ".join(repr(float(x)) for x in vector)))


def make_store(directory, words, vectors, dtype="f32", padding_index=-1):
    """Creates the store ``directory`` with the JVM library: row i is ``vectors[i]`` (the padding row stays
    zeros), its word ``words[i]`` (``words=None``: a store without vocabulary)."""
    spec = str(directory) + ".rows"
    _rows_file(spec, words, vectors)
    subprocess.run([java(), "--enable-native-access=ALL-UNNAMED", "-cp", JAR, MAKE_STORE, "create", str(directory),
                    dtype, str(padding_index), spec], check=True)
    os.remove(spec)
    return str(directory)


def append_rows(directory, words, vectors):
    """Appends rows to an existing store through the JVM writer (which then closes)."""
    spec = str(directory) + ".append"
    _rows_file(spec, words, vectors)
    subprocess.run([java(), "--enable-native-access=ALL-UNNAMED", "-cp", JAR, MAKE_STORE, "append", str(directory),
                    spec], check=True)
    os.remove(spec)
