"""embstore for Python: reads the embedding tables the embstore JVM library and CLI keep in memory-mapped files.

A Python process maps the very same files as every JVM and Python reader of a store, so one copy of the table in the
page cache serves them all, and a running writer's (or trainer's) updates are seen as they happen. Read-only.

    import embstore
    with embstore.open("glove.store") as store:
        store["king"]                        # float32 vector (a consistent copy)
        store.rows_of(["the", "cat", "zzz"]) # int64 rows, -1 where absent
        store.gather(ids)                    # ids.shape + (dim,), nn.Embedding's forward
        store.most_similar("king", topn=10)  # [(word, cosine)], as `embstore similar`

The file format: docs/FORMAT.md in the embstore repository.
"""

from ._client import Client, ServerError
from ._errors import StoreError
from ._store import Store

__version__ = "0.1.0"
__all__ = ["open", "Store", "StoreError", "Client", "ServerError", "__version__"]


def open(path):  # noqa: A001 (shadows the builtin inside this module only, as gzip.open does)
    """Opens the store directory ``path`` read-only. Raises StoreError when it is not a store, or a damaged one."""
    return Store(path)
