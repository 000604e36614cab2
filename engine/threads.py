"""FAISS on one OpenMP thread for small calls, restored afterwards.

faiss cannot split one query (or a small batch) across threads usefully, yet it still opens OpenMP
regions; when the cores are busy, joining a descheduled helper thread costs a scheduler slice: a
single-query p50 on 10k flat vectors went from 0.6 ms to 45 ms under load on a 2-core host, and adding
a batch's dormant-story keys cost twice the CPU time on two threads. The setting is per calling thread.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager


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
