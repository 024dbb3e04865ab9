"""embstore.Client against a real `./embstore serve` process: the rows it returns are bit-equal to the store's own
(`embstore.open(store)[word]`), missing words are reported by position, `similar` gives `Store.most_similar`'s
neighbours, and the server's error answers become ServerError with their status and kind."""

import os
import re
import signal
import subprocess
import threading

import numpy as np
import pytest

import embstore
from conftest import AWKWARD_WORDS, seed, vectors_for
from test_jvm_equality import assert_same_neighbours, bits

READY = re.compile(r"^embstore serve: listening on http://([^ ]+):(\d+) \(tables: .*\)$")
TOKEN = "a-test-token-of-32-characters-xx"


class Server:
    """`./embstore serve ARGS --port 0`, its URL read from the ready line; stopped with SIGTERM."""

    def __init__(self, launcher, *args):
        self.process = subprocess.Popen([str(launcher), "serve", *map(str, args), "--port", "0"],
                                        stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                        text=True, encoding="utf-8")
        lines = []
        reader = threading.Thread(target=lambda: lines.append(self.process.stdout.readline()), daemon=True)
        reader.start()
        reader.join(120)
        line = lines[0].rstrip("\n") if lines else ""
        match = READY.match(line)
        if not match:
            self.stop()
            raise AssertionError("no ready line from embstore serve within 120 s: %r\nstderr: %s"
                                 % (line, self.process.stderr.read()[-4000:]))
        self.url = "http://%s:%s" % match.groups()

    def stop(self):
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(30)
        self.process.stdout.close()
        self.process.stderr.close()


@pytest.fixture(scope="module")
def stores(make_store, make_java_store):
    """words: AWKWARD_WORDS and 2000 plain words x 37 (f32); half: the same as f16; rows: 50 x 5 without vocabulary."""
    rng = np.random.default_rng(seed("client stores"))
    words = AWKWARD_WORDS + ["w%d" % i for i in range(2000)]
    return {
        "words": make_store(words, vectors_for(len(words), 37, rng)),
        "half": make_store(words, vectors_for(len(words), 37, rng, "f16"), dtype="f16"),
        "rows": make_java_store(None, vectors_for(50, 5, rng)),
        "word_list": words,
    }


@pytest.fixture(scope="module")
def server(embstore_cli, stores):
    s = Server(embstore_cli.launcher, *("%s=%s" % (n, stores[n]) for n in ("words", "half", "rows")))
    yield s
    s.stop()


@pytest.fixture
def client(server):
    with embstore.Client(server.url, timeout=60) as c:
        yield c


def test_tables_describe_the_stores(client, stores):
    assert sorted(t["name"] for t in client.tables()) == ["half", "rows", "words"]
    for name, dtype in (("words", "f32"), ("half", "f16")):
        with embstore.open(stores[name]) as store:
            info = client.table(name)
            assert info["name"] == name
            assert (info["rows"], info["dim"], info["dtype"]) == (store.rows, store.dim, dtype)
            assert info["generation"] == store.generation
            assert info["vocabulary"] is True and info["words"] == store.rows
            assert info["padding_index"] == -1
    info = client.table("rows")
    assert (info["rows"], info["dim"], info["vocabulary"], info["words"]) == (50, 5, False, 0)


@pytest.mark.parametrize("name", ["words", "half"])
def test_lookup_words_is_bit_equal_to_the_store(client, stores, name):
    rng = np.random.default_rng(seed("client lookup " + name))
    present = AWKWARD_WORDS + [stores["word_list"][int(i)] for i in rng.integers(0, len(stores["word_list"]), 300)]
    absent = ["zzz-absent", "cafe", "日本", "W1", ""]
    query = present + absent
    order = rng.permutation(len(query))
    query = [query[i] for i in order]
    vectors, missing = client.lookup(name, words=query)
    assert vectors.dtype == np.float32 and vectors.shape == (len(query), 37)
    assert missing == [i for i, w in enumerate(query) if w in absent]
    with embstore.open(stores[name]) as store:
        for i, word in enumerate(query):
            expected = np.zeros(37, np.float32) if i in missing else store[word]
            np.testing.assert_array_equal(bits(vectors[i]), bits(expected), err_msg="%s[%r]" % (name, word))
    vectors[0, 0] = 1.0  # the caller owns the array


def test_lookup_ids_is_bit_equal_to_gather(client, stores):
    rng = np.random.default_rng(seed("client ids"))
    ids = rng.integers(0, len(stores["word_list"]), 500)
    vectors, missing = client.lookup("words", ids=ids)
    assert missing == []
    with embstore.open(stores["words"]) as store:
        np.testing.assert_array_equal(bits(vectors), bits(store.gather(ids)))
    rows, missing = client.lookup("rows", ids=[49, 0, 49])
    with embstore.open(stores["rows"]) as store:
        np.testing.assert_array_equal(bits(rows), bits(store.gather(np.array([49, 0, 49]))))
    empty, missing = client.lookup("words", words=[])
    assert empty.shape == (0, 37) and missing == []


def test_similar_equals_most_similar(client, stores):
    rng = np.random.default_rng(seed("client similar"))
    with embstore.open(stores["words"]) as store:
        for word in ["café", "日本語", "new york", "w0", "w1999"]:
            got = client.similar("words", word=word, k=10)
            assert_same_neighbours(got, [(w, float(s)) for w, s in store.most_similar(word, topn=10)],
                                   "similar(%r)" % word)
        query = rng.standard_normal(37).astype(np.float32)
        best = [w for w, _ in store.most_similar(query, topn=3)]
        exclude = [best[0], best[2], "not-in-the-store"]
        got = client.similar("words", vector=query, k=7, exclude=exclude)
        assert_same_neighbours(got, [(w, float(s)) for w, s in store.most_similar(query, topn=7, exclude=exclude)],
                               "similar(vector, exclude)")
        assert best[0] not in [w for w, _ in got] and best[1] in [w for w, _ in got]
    with embstore.open(stores["rows"]) as store:
        query = rng.standard_normal(5).astype(np.float32)
        got = client.similar("rows", vector=query, k=4)
        assert all(isinstance(r, int) for r, _ in got), got
        assert_same_neighbours(got, [(r, float(s)) for r, s in store.most_similar(query, topn=4)], "rows table")


def error_of(call):
    with pytest.raises(embstore.ServerError) as caught:
        call()
    return caught.value


def test_errors_become_server_errors(client):
    e = error_of(lambda: client.table("no-such-table"))
    assert (e.status, e.kind) == (404, "not_found") and "no-such-table" in e.message
    # Names that would be paths stay one segment of the URL: unknown tables, not files.
    for name in ["../words", "words/../words", "..", "/etc"]:
        assert error_of(lambda: client.lookup(name, ids=[0])).status == 404, name
    e = error_of(lambda: client.lookup("words", ids=[0, 3, 99_999]))
    assert (e.status, e.kind) == (400, "bad_request")
    assert "99999" in e.message, e.message
    e = error_of(lambda: client.lookup("words", ids=[-1]))
    assert (e.status, e.kind) == (400, "bad_request")
    e = error_of(lambda: client.similar("words", word="zzz-absent"))
    assert (e.status, e.kind) == (404, "not_found") and "zzz-absent" in e.message
    e = error_of(lambda: client.similar("words", word="w1", k=0))
    assert (e.status, e.kind) == (400, "bad_request")
    e = error_of(lambda: client.similar("words", vector=np.ones(5, np.float32)))
    assert (e.status, e.kind) == (400, "bad_request")
    # What the client can tell is wrong never reaches the server.
    with pytest.raises(TypeError):
        client.lookup("words", words="king")
    with pytest.raises(TypeError):
        client.lookup("words", words=["a"], ids=[0])
    with pytest.raises(TypeError):
        client.lookup("words", ids=[0.5])
    with pytest.raises(ValueError):
        client.similar("words", vector=np.full(37, np.nan, np.float32))
    # After the errors the same connection still answers.
    assert client.lookup("words", words=["w1"])[1] == []


def test_one_connection_serves_every_request(client):
    client.tables()
    first = client._conn.sock
    assert first is not None
    for _ in range(20):
        client.lookup("words", words=["w1", "w2"])
        client.similar("words", word="w3", k=2)
    error_of(lambda: client.table("nope"))
    assert client._conn.sock is first, "the client opened a new connection"


def test_a_connection_the_server_dropped_is_reopened(server):
    with embstore.Client(server.url) as client:
        client.tables()
        # The server closing an idle connection looks like this to the client: the socket's peer is gone.
        client._conn.sock.shutdown(2)
        assert client.lookup("words", words=["w1"])[1] == []


@pytest.fixture(scope="module")
def token_server(embstore_cli, stores, tmp_path_factory):
    token_file = tmp_path_factory.mktemp("token") / "token"
    token_file.write_text(TOKEN + "\n", encoding="ascii")
    s = Server(embstore_cli.launcher, stores["rows"], "--token-file", token_file)
    yield s
    s.stop()


def test_token(token_server):
    name = os.path.basename(os.path.normpath(str(token_server.process.args[2])))
    with embstore.Client(token_server.url) as anonymous:
        assert anonymous.healthy(), "/healthz needs no token"
        e = error_of(anonymous.tables)
        assert (e.status, e.kind) == (401, "unauthorized")
    with embstore.Client(token_server.url, token=TOKEN[:-1] + "y") as wrong:
        assert error_of(lambda: wrong.lookup(name, ids=[0])).status == 401
    with embstore.Client(token_server.url, token=TOKEN) as right:
        assert [t["name"] for t in right.tables()] == [name]
        assert right.lookup(name, ids=[1])[0].shape == (1, 5)
