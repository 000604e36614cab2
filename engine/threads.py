"""FAISS and BLAS on one thread for small calls, restored afterwards.

faiss cannot split one query (or a small batch) across threads usefully, yet it still opens OpenMP
regions; when the cores are busy, joining a descheduled helper thread costs a scheduler slice: a
single-query p50 on 10k flat vectors went from 0.6 ms to 45 ms under load on a 2-core host, and adding
a batch's dormant-story keys cost twice the CPU time on two threads. The FAISS setting is per calling
thread; the BLAS one is process-wide (other threads' products run on one thread meanwhile: speed only).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from threadpoolctl import ThreadpoolController


@contextmanager
def faiss_one_thread(active: bool = True) -> Iterator[None]:
    """Run the block's FAISS calls on one thread when `active`, then restore the caller's setting."""
    if not active:
        yield
        return
    import faiss

    before = faiss.omp_get_max_threads()
    faiss.omp_set_num_threads(1)
    try:
        yield
    finally:
        faiss.omp_set_num_threads(before)


_BLAS_LOCK = threading.Lock()  # the BLAS setting is process-wide: one switch and its restore at a time


@cache
def _blas() -> ThreadpoolController:
    from threadpoolctl import ThreadpoolController

    return ThreadpoolController()  # finding the loaded libraries costs milliseconds: once a process


@contextmanager
def blas_one_thread() -> Iterator[None]:
    """BLAS on one thread for a batch's story placement: its products (256 articles x ~2,000 live
    centroids) are too small to share, and the second thread cost ~1.6x the CPU seconds for no wall-clock
    gain (eval.bench_stories at 100k on 2 cores: 91.8 -> 55.7 CPU s, 51.6 -> 55.7 s wall, same stories)."""
    with _BLAS_LOCK, _blas().limit(limits=1, user_api="blas"):
        yield
