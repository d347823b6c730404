"""Fit the estimator's LUT and flip-flop constants from yosys measurements.

Draws random graphs (seed 1, ``sweep.random_graph``), synthesizes every layer
stage for iCE40, ECP5, Xilinx 7-series and generic gates, and fits per family a
non-negative linear model of LUTs over ``hwgen.analysis.estimate.FEATURES`` and of FFs
over the register-holding ``FF_FEATURES``. Measurements are kept in
``bench/calibration_data.jsonl``, one line per graph and family, appended as
they finish (a rerun skips what is there; ``--refit`` only fits, with the
features recomputed by the current estimator); the constants go to
``hwgen/targets/estimate_model.json``.

Blocks with two forms (the threshold unit's parallel table or binary search) pick the
smaller by a fitted model. While measuring and refitting, that choice is pinned to
``bench/calibration_forms.json`` (``$HWGEN_FORMS_MODEL``), the model the measurements
were taken with: a refit then sees the forms that were synthesized, and gives the same
constants every time. ``--remeasure FAMILY`` drops a family's measurements first (after
a change to its hardware), to take them again.

    .venv/bin/python bench/calibrate.py --graphs 20      # about 30 minutes on 2 cores
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np
from scipy.optimize import nnls

from hwgen.analysis.estimate import FEATURES, FF_FEATURES, stage_cost
from hwgen.analysis.plan import plan
from hwgen.core.jobs import run_jobs
from hwgen.targets import FAMILIES

sys.path.insert(0, str(Path(__file__).parent))
from sweep import measure, random_graph, timing

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "bench" / "calibration_data.jsonl"
MODEL = ROOT / "hwgen" / "targets" / "estimate_model.json"
FORMS = ROOT / "bench" / "calibration_forms.json"
os.environ["HWGEN_FORMS_MODEL"] = str(FORMS)  # before any block is built, workers too


def _graph(index: int, family: str):
    """Calibration graph ``index`` and the clock it is built for on ``family``."""
    rng = np.random.default_rng([1, index])
    return random_graph(rng, f"cal{index}"), timing(rng, family)


def _job(args: tuple[int, str]) -> dict:
    index, family = args
    graph, built_for = _graph(index, family)
    return {"graph": f"cal{index}", "family": family,
            "rows": measure(graph, family, built_for=built_for)}


def _load() -> list[dict]:
    if not DATA.exists():
        return []
    return [json.loads(line) for line in DATA.read_text().splitlines() if line.strip()]


def refresh_features(rows: list[dict]) -> None:
    """Recompute every row's features with the current estimator (the graphs are drawn
    again from their seeds), so a changed model refits without synthesizing again."""
    plans: dict[tuple[str, str], object] = {}
    for r in rows:
        key = (r["graph"], r["family"])
        if key not in plans:
            plans[key] = plan(*_graph(int(key[0].removeprefix("cal")), r["family"]))
        p = plans[key]
        k = next(i for i, lp in enumerate(p.layers) if lp.layer.name == r["layer"])
        cost = stage_cost(p, k, r["family"])
        r["features"], r["bram_est"], r["dsp_est"] = dict(cost.features), cost.bram, cost.dsp


def fit(rows: list[dict], family: str) -> tuple[dict[str, dict[str, float]], dict]:
    """Non-negative least squares, each stage weighted by 1/sqrt(its count): large stages
    do not swamp small ones, nor small ones (where a few cells are many percent) large
    ones. Returns the constants and the fit errors."""
    rows = [r for r in rows if r["family"] == family]
    out: dict[str, dict[str, float]] = {}
    stats = {}
    for kind, names in (("lut", FEATURES), ("ff", FF_FEATURES)):
        x = np.array([[r["features"].get(f, 0.0) for f in names] for r in rows])
        y = np.array([r["measured"][kind] for r in rows], dtype=float)
        scale = 1.0 / np.sqrt(np.maximum(y, 10.0))  # between absolute and relative error
        coef, _ = nnls(x * scale[:, None], y * scale)
        out[kind] = {f: round(float(c), 4) for f, c in zip(names, coef, strict=True)
                     if c > 0}
        err = np.abs(x @ coef - y) / np.maximum(y, 1.0) * 100
        stats[kind] = {"median_pct": round(float(np.median(err)), 1),
                       "worst_pct": round(float(err.max()), 1)}
    return out, stats


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--graphs", type=int, default=20)
    ap.add_argument("--jobs", type=int, default=2, help="local worker processes")
    ap.add_argument("--cluster", metavar="ADDRESS", help="a Dask scheduler to run on instead "
                    "(its workers need HWGEN_FORMS_MODEL and bench/ on their path)")
    ap.add_argument("--refit", action="store_true", help="fit the stored measurements again")
    ap.add_argument("--remeasure", action="append", default=[], choices=list(FAMILIES),
                    metavar="FAMILY", help="drop FAMILY's measurements and take them again")
    ap.add_argument("--families", nargs="+", default=list(FAMILIES), choices=list(FAMILIES),
                    metavar="FAMILY", help="measure and fit only these; the model file "
                    "keeps the others' constants as they are (default: every family)")
    args = ap.parse_args()
    done = [d for d in _load() if d["family"] not in args.remeasure]
    if args.remeasure:
        DATA.write_text("".join(json.dumps(d) + "\n" for d in done))
    if not args.refit:
        have = {(d["graph"], d["family"]) for d in done}
        jobs = [(i, f) for i in range(args.graphs) for f in args.families
                if (f"cal{i}", f) not in have]
        start = time.time()
        with DATA.open("a") as store:
            for n, (_, got) in enumerate(run_jobs(_job, jobs, cluster=args.cluster,
                                                  workers=args.jobs, say=print), 1):
                store.write(json.dumps(got) + "\n")
                store.flush()
                done.append(got)
                print(f"[{n}/{len(jobs)}] {got['graph']} {got['family']}: "
                      f"{len(got['rows'])} stages, {time.time() - start:.0f} s", flush=True)
    rows = [r for d in done for r in d["rows"] if r["family"] in args.families]
    refresh_features(rows)
    kept = json.loads(MODEL.read_text()) if MODEL.exists() else {"coefficients": {}, "fit": {}}
    model = {f: c for f, c in kept["coefficients"].items() if f not in args.families}
    report = {f: c for f, c in kept["fit"].items() if f not in args.families}
    for family in args.families:
        model[family], report[family] = fit(rows, family)
        print(f"{family:8s} fit over {sum(r['family'] == family for r in rows)} stages: "
              + ", ".join(f"{k} median {v['median_pct']} % worst {v['worst_pct']} %"
                          for k, v in report[family].items()))
    order = [f for f in FAMILIES if f in model]
    MODEL.write_text(json.dumps({"coefficients": {f: model[f] for f in order},
                                 "fit": {f: report[f] for f in order},
                                 "calibration": "bench/calibrate.py, seed 1, the stage "
                                                "measurements in bench/calibration_data.jsonl"},
                                indent=1) + "\n")
    print(f"wrote {MODEL.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
