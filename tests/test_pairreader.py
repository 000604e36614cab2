"""The pair reader's shipped file format: adapters folded into the base at load give exactly what the
training graph (base + low-rank adapters, unmerged) computes."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from newsprism.engine import pairreader
from safetensors.torch import save_file
from torch import nn

PAIRS = [
    ("Amrozi accused his brother of deliberately distorting his evidence.",
     "Referring to him as only the witness, Amrozi accused his brother of deliberately distorting his evidence."),
    ("The central bank raised its key interest rate to 4.25% on Wednesday.",
     "Twelve homes were destroyed by the wildfire, firefighters said."),
    ("Short one.", "A much longer sentence that forces padding in the batch, so masking must keep it exact."),
]


def test_merged_reader_equals_the_training_graph(tmp_path) -> None:
    torch.manual_seed(3)
    bert, tokenizer = pairreader.load_base()
    trainable = pairreader.attach_adapters(bert, rank=4, alpha=8.0)
    assert all("LayerNorm" in n or n.endswith((".a", ".b")) for n, p in bert.named_parameters() if p.requires_grad)
    assert sum(p.numel() for p in trainable) < 500_000  # what ships is small; the base stays in its package
    with torch.no_grad():  # a trained-looking adapter: B is zero at init, which would test nothing
        for name, p in bert.named_parameters():
            if name.endswith(".b") or "LayerNorm" in name:
                p.add_(torch.randn_like(p) * 0.02)
    head = nn.Linear(bert.config.hidden_size, 1)
    bert.eval()
    a, b = [p[0] for p in PAIRS], [p[1] for p in PAIRS]
    with torch.no_grad():
        expected = pairreader.pooled_logits(bert, head, pairreader.encode_pairs(tokenizer, a, b)).numpy()
    path = tmp_path / "reader.safetensors"
    save_file(pairreader.adapter_state(bert, head, 4, 8.0), str(path))
    reader = pairreader.PairReader(path)
    np.testing.assert_allclose(reader.ordered_logits(a, b), expected, atol=1e-5)
    both = reader.logits(a, b)
    np.testing.assert_allclose(both, reader.logits(b, a), atol=1e-12)  # symmetric by construction
    assert not np.allclose(expected, 0.0)


def test_mismatched_lengths_are_refused() -> None:
    unloaded = object.__new__(pairreader.PairReader)  # the length check comes before any model work
    with pytest.raises(ValueError, match="same length"):
        unloaded.logits(["a"], ["b", "c"])


def test_a_story_sized_read_runs_on_one_thread_and_restores_the_setting() -> None:
    before = torch.get_num_threads()
    seen = []
    with pairreader._few_threads(8):
        seen.append(torch.get_num_threads())
    with pairreader._few_threads(pairreader.ONE_THREAD_PAIRS + 1):
        seen.append(torch.get_num_threads())
    assert seen == [1, before]
    assert torch.get_num_threads() == before
