"""``Store.to_torch``: an ``nn.Embedding`` over the mapped rows (torch is optional)."""

import os

import numpy as np

from . import _format as fmt
from ._mapping import map_file


def to_embedding(store, freeze):
    try:
        import torch
    except ImportError:
        raise ImportError("Store.to_torch() needs PyTorch, which is not installed: apt-get install python3-torch "
                          "(Debian) or pip install torch") from None
    view = store._view
    rows, dim = view.rows, store.dim
    if store.dtype == "f32":
        # A private (copy-on-write) mapping of the same file: torch wants a writable array, and a write through it
        # (an optimizer step when freeze=False, an in-place op) copies that page into this process only. The file
        # and every other reader are never changed; pages not written stay the shared page-cache pages.
        path = os.path.join(store.path, fmt.MATRIX_FILE)
        nbytes = fmt.NPY_HEADER_BYTES + rows * dim * 4
        mm = map_file(path, nbytes, nbytes, private=True)
        weight = torch.from_numpy(np.frombuffer(mm, "<f4", rows * dim, fmt.NPY_HEADER_BYTES).reshape(rows, dim))
    else:
        # torch's CPU embedding has no float16 kernel worth using: f16 rows are read into float32 (a copy).
        weight = torch.from_numpy(store.gather(np.arange(rows, dtype=np.int64)))
    padding = store.padding_index if store.padding_index >= 0 else None
    return torch.nn.Embedding.from_pretrained(weight, freeze=freeze, padding_idx=padding)
