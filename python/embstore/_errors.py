"""The one exception a damaged, foreign or unreadable store raises."""


class StoreError(Exception):
    """A store that cannot be read as it is: not a store, damaged, unreadable, or a row left half-written.

    ``path`` names the file or directory at fault; ``kind`` is one of ``"corrupt"``, ``"not_found"``, ``"locked"``
    (a row held by a live writer for too long) and ``"io"``, as the JVM's ``StoreException.Kind``.
    """

    def __init__(self, path, problem, kind="corrupt"):
        super().__init__("%s: %s" % (path, problem))
        self.path = str(path)
        self.problem = problem
        self.kind = kind
