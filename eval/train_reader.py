"""Train the same-claim pair reader (engine/pairreader.py) on a labelled pair file.

    python -m eval.train_reader --data pairs.jsonl --out engine/models/sameclaim-reader.safetensors
    python -m eval.train_reader --data pairs.jsonl --folds 5 --oof reader-oof.npy   # held-out logits

With --folds K, K readers are trained, each without one stratified fold (the same folds as
``eval.claims --tune``), and the logits each gives its held-out fold are saved to --oof: every pair then
has a reader score from a model that never saw it, which ``eval.claims --tune --reader-oof`` uses to fit
and honestly score the stacked decision. Without --folds one reader is trained on the whole file.

CPU only: about 100 s an epoch for 3,700 MSRP pairs on two cores.
"""

from __future__ import annotations

import argparse
import math
import random
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from newsprism.engine import pairreader
from safetensors.torch import save_file
from torch import nn

from eval.claims import load_pairs, stratified_folds


def train(texts_a: Sequence[str], texts_b: Sequence[str], y: np.ndarray, epochs: int = 3, rank: int = 8,
          alpha: float = 16.0, lr: float = 1e-3, batch_size: int = 16, seed: int = 0
          ) -> dict[str, torch.Tensor]:
    """Adapters + LayerNorms + head, AdamW with linear warm-up and decay; returns the state to ship."""
    torch.manual_seed(seed)
    rng = random.Random(seed)
    bert, tokenizer = pairreader.load_base()
    params = pairreader.attach_adapters(bert, rank, alpha)
    head = nn.Linear(bert.config.hidden_size, 1)
    dropout = nn.Dropout(0.1)
    params += list(head.parameters())
    optimizer = torch.optim.AdamW(params, lr=lr, weight_decay=0.01)
    steps = epochs * math.ceil(len(y) / batch_size)
    warmup = max(1, int(0.1 * steps))
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda s: min(1.0, (s + 1) / warmup) * max(0.0, (steps - s) / steps))
    loss_fn = nn.BCEWithLogitsLoss()
    started = time.perf_counter()
    bert.train()
    for epoch in range(epochs):
        order = list(range(len(y)))
        rng.shuffle(order)
        total = 0.0
        for n, lo in enumerate(range(0, len(order), batch_size), 1):
            rows = order[lo:lo + batch_size]
            enc = pairreader.encode_pairs(tokenizer, [texts_a[i] for i in rows], [texts_b[i] for i in rows])
            logits = pairreader.pooled_logits(bert, lambda h: head(dropout(h)), enc)
            loss = loss_fn(logits, torch.tensor(y[rows], dtype=torch.float32))
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            schedule.step()
            total += loss.item()
            print(f"\repoch {epoch + 1}/{epochs} batch {n} loss {total / n:.4f} "
                  f"({time.perf_counter() - started:.0f}s)", end="", file=sys.stderr, flush=True)
        print(file=sys.stderr)
    return pairreader.adapter_state(bert, head, rank, alpha)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", required=True, help="JSON lines with a, b, label")
    parser.add_argument("--out", type=Path, help="where to write the reader trained on all of --data")
    parser.add_argument("--folds", type=int, default=0, help="train K fold readers for held-out logits")
    parser.add_argument("--oof", type=Path, help="with --folds: .npy file for the held-out logits")
    parser.add_argument("--seed", type=int, default=0, help="fold seed (as eval.claims --seed)")
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    args = parser.parse_args(argv)
    if not args.out and not (args.folds and args.oof):
        parser.error("give --out, or --folds with --oof")
    torch.set_num_threads(args.threads)
    texts_a, texts_b, y = load_pairs(args.data)
    if args.folds:
        oof = np.full(len(y), np.nan)
        for k, held in enumerate(stratified_folds(y, args.folds, args.seed), 1):
            print(f"fold {k}/{args.folds}: training on {len(y) - len(held)} pairs", file=sys.stderr)
            train_rows = np.setdiff1d(np.arange(len(y)), held)
            state = train([texts_a[i] for i in train_rows], [texts_b[i] for i in train_rows], y[train_rows],
                          epochs=args.epochs)
            path = args.oof.with_suffix(f".fold{k}.safetensors")
            save_file(state, str(path))
            reader = pairreader.PairReader(path)
            oof[held] = reader.logits([texts_a[i] for i in held], [texts_b[i] for i in held])
            np.save(args.oof, oof)  # after every fold, so a stopped run keeps what it has
            acc = np.mean((oof[held] >= 0) == y[held])
            print(f"fold {k}: held-out accuracy at logit 0: {acc:.4f}", file=sys.stderr)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        save_file(train(texts_a, texts_b, y, epochs=args.epochs), str(args.out))
        print(f"wrote {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
