"""The demo: train an example, check its export, generate its Verilog and simulate it,
then compare torch, the reference and the RTL image by image (what ``hwgen demo`` runs)."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from hwgen import reference
from hwgen.core.errors import ExampleError
from hwgen.examples import EXAMPLES, get_example
from hwgen.flows.build import BuildResult, build
from hwgen.sim.runner import SIMULATORS, SimResult, simulate_and_record

__all__ = ["DemoResult", "demo"]

STALL = 0.3  # the probability of a stall the simulation draws per cycle


@dataclass(frozen=True)
class DemoResult:
    """What the demo found on the held-out test images: the predictions of the three models, the
    build and the simulation."""

    example: str
    seed: int
    simulator: str
    labels: np.ndarray  # (n,) the held-out images' labels
    torch: np.ndarray  # (n,) the torch model's predictions
    reference: np.ndarray  # (n,) hwgen.reference's, on the exported graph
    rtl: np.ndarray  # (n,) the simulated Verilog's
    traces_equal: bool  # every intermediate integer tensor equal, torch vs reference
    built: BuildResult
    sim: SimResult
    seconds: float  # the whole demo, training included

    @property
    def agree(self) -> int:
        """Images on which torch, the reference and the RTL give the same answer."""
        return int(np.sum((self.torch == self.reference) & (self.reference == self.rtl)))

    @property
    def ok(self) -> bool:
        """The three models agree on every image, and the RTL is bit-exact."""
        return self.traces_equal and self.agree == len(self.labels) and self.sim.mismatches == 0


def demo(example: str = "digits-mlp", out: str | os.PathLike | None = None, *,
         frames: int = 0, simulator: str | None = None, seed: int = 0,
         progress: Callable[[str], None] = print,
         on_build: Callable[[BuildResult], None] | None = None,
         on_sim: Callable[[SimResult], None] | None = None) -> DemoResult:
    """Train ``example`` (seeded), check its export on ``frames`` held-out images (0: all),
    generate its Verilog in ``out`` (default ``build/EXAMPLE``) and simulate it on
    ``simulator`` (default: icarus for the MLP, the compiled Verilator bench for the CNNs).

    ``progress`` hears each step; ``on_build`` and ``on_sim`` are handed the build and the
    simulation as soon as they are done (``hwgen demo`` prints them there). Raises
    :class:`~hwgen.core.errors.ExampleError` for an unknown example or simulator, or a
    negative ``frames``."""
    import torch

    from hwgen.frontends import quant

    if example not in EXAMPLES:
        raise ExampleError(f"{example}: not an example (examples: {', '.join(EXAMPLES)})")
    if simulator is not None and simulator not in SIMULATORS:
        raise ExampleError(f"unknown simulator {simulator!r}; simulators: "
                           f"{', '.join(SIMULATORS)}")
    if frames < 0:
        raise ExampleError(f"--frames must be 0 (all) or more, got {frames}")
    start = time.monotonic()
    out_dir = out or f"build/{example}"
    progress(f"[1/4] train and export {example}")
    # the CNNs' long frames and MNIST's 10,000 images: the compiled Verilator bench
    simulator = simulator or ("icarus" if example == "digits-mlp" else "compiled")
    ex = get_example(example)(seed=seed, progress=progress)
    test_x = ex.test_x[:frames] if frames else ex.test_x
    test_y = ex.test_y[: len(test_x)]
    progress(f"[2/4] check the export on {len(test_x)} held-out images")
    torch_trace = quant.integer_trace(ex.model, torch.tensor(test_x, dtype=torch.float32))
    ref_trace = reference.trace(ex.graph, test_x)
    same = all(np.array_equal(a, b) for a, b in zip(torch_trace, ref_trace, strict=True))
    progress(f"  every intermediate integer tensor equal (torch vs reference): {same}")
    progress(f"[3/4] generate Verilog -> {out_dir}")
    built = build(ex.graph, out_dir)
    if on_build:
        on_build(built)
    bench = "compiled Verilator bench" if simulator == "compiled" else f"cocotb, {simulator}"
    progress(f"[4/4] simulate the Verilog ({bench})")
    sim = simulate_and_record(built.out_dir, test_x, frames=len(test_x), simulator=simulator,
                              seed=seed, stall=STALL, progress=progress)
    if on_sim:
        on_sim(sim)
    return DemoResult(example, seed, simulator, test_y, torch_trace[-1][:, 0],
                      ref_trace[-1][:, 0], sim.outputs[:, 0], same, built, sim,
                      time.monotonic() - start)
