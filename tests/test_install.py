"""A non-editable install (a built wheel, outside the checkout) carries its board files,
simulation bench and templates: it builds an example for a board and simulates it."""

import json
import os
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.torch
def test_wheel_builds_and_simulates_an_example_outside_the_checkout(tmp_path):
    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps",
                    "--no-build-isolation", "-w", str(tmp_path / "dist"), str(ROOT)],
                   check=True, capture_output=True)
    wheel = next((tmp_path / "dist").glob("hwgen-*.whl"))
    site = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target",
                    str(site), str(wheel)], check=True, capture_output=True)
    # the base interpreter with the wheel first on the path and this venv's packages for the
    # dependencies (a PYTHONPATH entry runs no .pth file, so the editable hwgen stays out)
    python = Path(sys.base_prefix) / "bin" / "python3"
    env = {**os.environ, "PYTHONPATH": f"{site}{os.pathsep}{sysconfig.get_paths()['purelib']}",
           "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    work = tmp_path / "elsewhere"
    work.mkdir()

    def hwgen(*args):
        return subprocess.run([str(python), "-m", "hwgen.cli", *args], cwd=work, env=env,
                              capture_output=True, text=True)

    where = subprocess.run([str(python), "-c", "import hwgen.boards, hwgen.sim.bench, "
                            "hwgen.rtl_templates; print(hwgen.boards.__file__)"],
                           cwd=work, env=env, capture_output=True, text=True, check=True)
    assert where.stdout.startswith(str(site))  # the installed copy, not the checkout
    built = hwgen("build", "digits-mlp", "--board", "icebreaker", "--out", "mlp")
    assert built.returncode == 0, built.stderr
    report = json.loads((work / "mlp" / "report.json").read_text())
    assert report["estimate"]["board"] == "icebreaker"
    sim = hwgen("sim", "mlp", "--frames", "3")
    assert sim.returncode == 0, sim.stdout + sim.stderr
    assert "bit-exact" in sim.stdout
    # the Vivado templates (Tcl, Verilog, the driver's .in) ship with the wheel
    vivado = hwgen("build", "mlp/graph.json", "--board", "pynq-z2", "--bitstream", "--out",
                   "pynq")
    assert vivado.returncode == 0, vivado.stderr
    assert (work / "pynq" / "vivado" / "digits_mlp.py").is_file()
