"""A client of ``embstore serve`` (docs/SERVER.md), on the standard library's http.client and numpy.

Lookups ask for ``application/x-npy`` answers: the rows arrive as the bytes of a float32 ``.npy`` array and become a
numpy array without parsing a float. One persistent HTTP/1.1 connection per client, opened at the first request and
reopened once, transparently, when the server has closed it in the meantime (idle timeout, restart).
"""

import ast
import http.client
import json
import threading
import urllib.parse

import numpy as np

_NPY = "application/x-npy"
_JSON = "application/json"
_NPY_MAGIC = b"\x93NUMPY"


class ServerError(Exception):
    """An error answer of the server: ``status`` (the HTTP status), ``kind`` (``"bad_request"``, ``"unauthorized"``,
    ``"not_found"``, ``"payload_too_large"``, ``"overloaded"``, ... as docs/SERVER.md lists them) and ``message``
    (the server's sentence naming the problem). An answer that is not the server's JSON error (a proxy's page) has the
    kind ``"http"`` and the start of its body as message."""

    def __init__(self, status, kind, message):
        super().__init__("%d %s: %s" % (status, kind, message))
        self.status = status
        self.kind = kind
        self.message = message


class Client:
    """A connection to an ``embstore serve`` at ``url`` (``http://host:port``; ``https://`` too when a proxy in front
    terminates TLS). ``token``: the bearer token when the server was started with ``--token-file``. ``timeout``:
    seconds to connect and for each read of an answer.

    Safe to share between threads (requests take turns on the one connection); give each thread its own client for
    requests in parallel. Use it as a context manager, or call :meth:`close`.

        with embstore.Client("http://127.0.0.1:8080") as client:
            vectors, missing = client.lookup("glove", words=["king", "queen", "zzz"])   # (3, 300) float32, [2]
            client.similar("glove", word="king", k=5)                                  # [(word, similarity)]
    """

    def __init__(self, url, token=None, timeout=30.0):
        parts = urllib.parse.urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("url must be http://HOST:PORT (or https://), got %r" % (url,))
        self.url = url
        self._prefix = parts.path.rstrip("/")
        connection = http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
        self._conn = connection(parts.hostname, parts.port, timeout=timeout)
        self._headers = {"Authorization": "Bearer " + token} if token is not None else {}
        self._lock = threading.Lock()

    # ------------------------------------------------------------------------------------------- the API

    def tables(self):
        """The server's tables: a list of dicts with ``name``, ``rows``, ``dim``, ``dtype``, ``generation``,
        ``vocabulary``, ``words``, ``padding_index``."""
        return self._json("GET", "/v1/tables")["tables"]

    def table(self, name):
        """One table's description (as an element of :meth:`tables`); ServerError 404 when the server has none of
        that name."""
        return self._json("GET", "/v1/tables/" + _quote(name))

    def lookup(self, table, words=None, ids=None):
        """The rows of ``words`` (strings) or of ``ids`` (row numbers), exactly one of them: ``(vectors, missing)``,
        ``vectors`` a float32 array of shape ``(len(input), dim)``, one row per input position, and ``missing`` the
        positions (0-based) of the words the table does not have, whose rows are zeros. An id outside the table is a
        ServerError (400) naming it."""
        if (words is None) == (ids is None):
            raise TypeError("lookup takes words or ids, exactly one of them")
        if words is not None:
            if isinstance(words, (str, bytes)):
                raise TypeError("words must be a sequence of strings, not a single %s" % type(words).__name__)
            words = list(words)
            for i, word in enumerate(words):
                if not isinstance(word, str):
                    raise TypeError("words[%d] is a %s, not a str" % (i, type(word).__name__))
            body, count = {"words": words}, len(words)
        else:
            array = np.asarray(ids)
            if array.ndim != 1 or (array.size and array.dtype.kind not in "iu"):
                raise TypeError("ids must be a sequence of integers, got %r" % (ids,))
            body, count = {"ids": array.astype(np.int64).tolist()}, int(array.size)
        status, headers, data = self._request("POST", "/v1/tables/%s/lookup" % _quote(table), body, _NPY)
        vectors = _npy_rows(data, count)
        listed = headers.get("X-Embstore-Missing")
        missing = [int(p) for p in listed.split(",")] if listed else []
        return vectors, missing

    def similar(self, table, word=None, vector=None, k=10, exclude=()):
        """The ``k`` rows most similar (cosine) to ``word`` or to ``vector`` (exactly one of them), best first, as
        ``[(word, similarity)]`` (row numbers in place of words for a table without vocabulary), as the table's
        ``Store.most_similar`` and ``embstore similar`` answer. The query word and the words of ``exclude`` are never
        returned; a query word the table does not have is a ServerError (404)."""
        if (word is None) == (vector is None):
            raise TypeError("similar takes word or vector, exactly one of them")
        if isinstance(exclude, str):
            exclude = (exclude,)
        body = {"k": k, "exclude": list(exclude)}
        if word is not None:
            body["word"] = word
        else:
            body["vector"] = np.asarray(vector, dtype=np.float32).ravel().tolist()
        answer = json.loads(self._request("POST", "/v1/tables/%s/similar" % _quote(table), body, _JSON)[2])
        return [(n["word"] if "word" in n else n["row"], n["similarity"]) for n in answer["neighbors"]]

    def healthy(self):
        """True when the server answers ``GET /healthz`` with 200."""
        try:
            return self._json("GET", "/healthz").get("status") == "ok"
        except (ServerError, OSError, http.client.HTTPException):
            return False

    # ------------------------------------------------------------------------------------------- lifetime

    def close(self):
        """Closes the connection (a later request opens a new one)."""
        with self._lock:
            self._conn.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __repr__(self):
        return "embstore.Client(%r)" % (self.url,)

    # ------------------------------------------------------------------------------------------- HTTP

    def _json(self, method, path):
        return json.loads(self._request(method, path, None, _JSON)[2])

    def _request(self, method, path, body, accept):
        """Sends one request; returns (status, headers, body bytes) of a 2xx answer, raises ServerError otherwise."""
        headers = dict(self._headers)
        headers["Accept"] = accept
        payload = None
        if body is not None:
            # allow_nan=False: NaN and Infinity are not JSON; a ValueError here rather than a 400 from the server.
            payload = json.dumps(body, ensure_ascii=False, allow_nan=False, separators=(",", ":")).encode("utf-8")
            headers["Content-Type"] = _JSON
        with self._lock:
            for attempt in (0, 1):
                reused = self._conn.sock is not None
                try:
                    self._conn.request(method, self._prefix + path, body=payload, headers=headers)
                    response = self._conn.getresponse()
                    data = response.read()
                    break
                except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError):
                    # The server closed a kept-alive connection before reading this request (its idle timeout, a
                    # restart): nothing was done, so it is sent again once, on a new connection. The requests here
                    # change nothing on the server, so even a lost answer is safe to ask again.
                    self._conn.close()
                    if attempt or not reused:
                        raise
                except BaseException:
                    # A timeout or an interrupted read leaves the connection mid-answer: never reuse it.
                    self._conn.close()
                    raise
        if not 200 <= response.status < 300:
            raise _error(response.status, data)
        return response.status, response.headers, data


def _quote(name):
    """A table name as one path segment: a '/' or '..' in it stays inside the segment (the server then says 404)."""
    return urllib.parse.quote(str(name), safe="")


def _error(status, data):
    try:
        error = json.loads(data.decode("utf-8"))["error"]
        return ServerError(status, str(error["kind"]), str(error["message"]))
    except (ValueError, KeyError, TypeError):
        return ServerError(status, "http", data[:200].decode("utf-8", "replace"))


def _npy_rows(data, count):
    """The float32 (count, dim) array of an npy answer (its bytes taken as they are: no float is parsed)."""
    if data[:6] != _NPY_MAGIC or len(data) < 10:
        raise ServerError(200, "bad_answer", "the lookup answer is not a .npy file")
    major = data[6]
    if major == 1:
        header_len, start = int.from_bytes(data[8:10], "little"), 10
    else:
        header_len, start = int.from_bytes(data[8:12], "little"), 12
    header = data[start:start + header_len].decode("latin1")
    try:
        fields = ast.literal_eval(header)
        dtype = np.dtype(fields["descr"])
        shape = tuple(fields["shape"])
        fortran = fields["fortran_order"]
    except (ValueError, SyntaxError, KeyError, TypeError) as e:
        raise ServerError(200, "bad_answer", "the lookup answer has a bad .npy header %r: %s" % (header, e))
    if dtype.kind != "f" or dtype.itemsize != 4 or fortran or len(shape) != 2 or shape[0] != count:
        raise ServerError(200, "bad_answer", "the lookup answer is a %s array of shape %s, not (%d, dim) float32"
                          % (dtype, shape, count))
    offset = start + header_len
    if len(data) - offset != shape[0] * shape[1] * 4:
        raise ServerError(200, "bad_answer", "the lookup answer has %d bytes of rows, %s float32 need %d"
                          % (len(data) - offset, shape, shape[0] * shape[1] * 4))
    # bytearray: the array the caller gets is writable, like the store's own copies.
    rows = np.frombuffer(bytearray(memoryview(data)[offset:]), dtype=dtype).reshape(shape)
    return rows.astype(np.float32, copy=False)
