"""``hwgen dataset``: a data set's split as an npz (``x``: integer pixels, ``y``: labels),
what ``hwgen sim --inputs`` and ``hwgen run`` take."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from hwgen.cli.common import CliError, say, seed
from hwgen.core.files import write_atomic
from hwgen.examples.digits import load

DATASETS = ("digits",)


def add_parser(sub) -> None:
    ds = sub.add_parser("dataset", help="write a data set's split as an npz for sim and run")
    ds.add_argument("name", help=f"the data set: {', '.join(DATASETS)}")
    ds.add_argument("--split", choices=("test", "train"), default="test")
    ds.add_argument("--seed", type=seed, default=0, help="the split's seed (the examples "
                    "train on the split of the same seed; default 0)")
    ds.add_argument("--out", required=True, help="the npz to write (arrays x and y)")
    ds.set_defaults(func=run)


def run(args) -> int:
    if args.name not in DATASETS:
        raise CliError(f"unknown data set {args.name!r}; known: {', '.join(DATASETS)}")
    train_x, train_y, test_x, test_y = load(args.seed)
    x, y = (test_x, test_y) if args.split == "test" else (train_x, train_y)
    out = Path(args.out)
    write_atomic(out, lambda f: np.savez(f, x=x, y=y))
    say(f"wrote {out}: {len(x)} {args.split} images of {args.name} (x: {x.shape[1]} uint4 "
        f"pixels each, y: labels 0..9; split by seed {args.seed})")
    return 0
