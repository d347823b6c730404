"""``hwgen compress``: prune, split, share or distill an example model, or prune or share a
graph (:func:`hwgen.compress.compress` does it; this prints what it found)."""

from __future__ import annotations

from hwgen.analysis.estimate import estimate
from hwgen.cli.common import board, board_args, say, seed
from hwgen.compress import METHODS, CompressResult, WeightStats, compress


def add_parser(sub) -> None:
    c = sub.add_parser("compress", help="prune, split, share or distill an example model, or "
                       "prune or share a graph")
    c.add_argument("source", help="an example (trained, compressed, fine-tuned) or a graph "
                   "NAME.json (prune or codebook, no fine-tuning)")
    c.add_argument("--method", required=True, choices=METHODS,
                   help="prune: magnitude pruning to --sparsity; channels: LASSO channel "
                   "pruning of the channels --layer reads, to --keep; lowrank: truncated SVD "
                   "of dense --layer at --rank or --energy; codebook: weights shared through "
                   "2^--bits k-means centroids per layer; distill: a fresh copy of the "
                   "example trained from --teacher's softened outputs")
    c.add_argument("--sparsity", type=float, help="fraction of each layer's weights to zero")
    c.add_argument("--pattern", help="prune to N:M instead (2:4, 1:4): in every group of M "
                   "inputs of a row the N largest weights kept; the layers carry the pattern "
                   "and build the sparse matrix unit")
    c.add_argument("--layer", help="layer name in the exported graph (fc2, conv2, ...)")
    c.add_argument("--keep", type=int, default=16, help="channels to keep (default 16)")
    c.add_argument("--rank", type=int, help="rank of the split")
    c.add_argument("--energy", type=float, help="squared singular values to keep (0..1]")
    c.add_argument("--bits", type=int, help="codebook index bits (1..8)")
    c.add_argument("--teacher", help="the example that teaches (distill)")
    c.add_argument("--temperature", type=float, default=4.0,
                   help="distillation temperature (default 4)")
    c.add_argument("--alpha", type=float, default=0.7,
                   help="weight of the teacher's targets against the labels (default 0.7)")
    c.add_argument("--weight-dtype", help="train the example with these weights (bin, "
                   "tern, intK) before compressing; default its own")
    c.add_argument("--epochs", type=int, help="fine-tuning epochs (default 20; distill: "
                   "the example's own)")
    c.add_argument("--seed", type=seed, default=0)
    c.add_argument("--out", required=True, help="the compressed graph (NAME.json and .npz)")
    board_args(c)
    c.set_defaults(func=run)


def run(args) -> int:
    result = compress(args.source, args.method, sparsity=args.sparsity,
                      pattern=args.pattern, bits=args.bits,
                      layer=args.layer, keep=args.keep, rank=args.rank, energy=args.energy,
                      teacher=args.teacher, temperature=args.temperature, alpha=args.alpha,
                      weight_dtype=args.weight_dtype, epochs=args.epochs, seed=args.seed,
                      progress=say)
    target = board(args, result.original)
    after = result.estimate(target)
    fit = after.fit_summary()
    hardware = {"before": _hardware(estimate(result.original, target), target),
                "after": _hardware(after, target)}
    for label, acc, stats in _before_after(result):
        measured = ("" if acc is None else  # a graph alone: no model, no data to measure on
                    f"accuracy {acc:.2%} on {result.test_samples:,} test samples; ")
        say(f"  {label:<6} {measured}{_weights(stats)}; {hardware[label]}")
    say(f"wrote {result.graph.save(args.out)} (and .npz); at its folding: {fit}; "
        "hwgen build takes it as any graph")
    return 0


def _before_after(result: CompressResult):
    return (("before", result.accuracy_before, result.weights_before),
            ("after", result.accuracy_after, result.weights_after))


def _hardware(est, target) -> str:
    """Cycles a frame and estimated logic, at the graph's own folding."""
    return (f"{est.cycles:,} cycles/frame, {est.total.lut:,.0f} {target.lut_unit} estimated "
            f"on {target.name}")


def _weights(stats: WeightStats) -> str:
    shared = (f" ({stats.stored_bits:,} as stored: codebooks, N:M slots)"
              if stats.stored_bits != stats.bits else "")
    return f"{stats.weights:,} weights, {stats.zeros:,} zero, {stats.bits:,} weight bits{shared}"
