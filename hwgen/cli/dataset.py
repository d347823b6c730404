"""``hwgen dataset``: a data set's split as an npz (``x``: integer pixels, ``y``: labels),
what ``hwgen sim --inputs`` and ``hwgen run`` take."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from hwgen import datasets
from hwgen.cli.common import CliError, say, seed
from hwgen.core.files import write_atomic

DATASETS = ("digits", "mnist")


def add_parser(sub) -> None:
    ds = sub.add_parser("dataset", help="write a data set's split as an npz for sim and run")
    ds.add_argument("name", help=f"the data set: {', '.join(DATASETS)}")
    ds.add_argument("--split", choices=("test", "train"), default="test")
    ds.add_argument("--seed", type=seed, default=0, help="the digits split's seed (the "
                    "examples train on the split of the same seed; default 0); MNIST's "
                    "split is its own")
    ds.add_argument("--out", required=True, help="the npz to write (arrays x and y)")
    ds.set_defaults(func=run)


def run(args) -> int:
    if args.name not in DATASETS:
        raise CliError(f"unknown data set {args.name!r}; known: {', '.join(DATASETS)}")
    if args.name == "mnist":
        if args.seed:
            raise CliError("--seed splits the digits; MNIST has its own split (leave it out)")
        data, pixels, how = datasets.mnist(progress=say), "uint8 pixels 0..255", "its own split"
    else:
        data = datasets.digits(args.seed)
        pixels, how = "uint4 pixels", f"split by seed {args.seed}"
    x, y = (data.test_x, data.test_y) if args.split == "test" else (data.train_x, data.train_y)
    x = x.reshape(len(x), -1)  # flat images: sim and run reshape them to the graph's input
    out = Path(args.out)
    write_atomic(out, lambda f: np.savez(f, x=x, y=y))
    say(f"wrote {out}: {len(x)} {args.split} images of {args.name} (x: {x.shape[1]} {pixels} "
        f"each, y: labels 0..9; {how})")
    return 0
