"""The planted bugs of issue 26, one at a time: each one-line bug is put into the source, the
tests that should catch it run, and the file is put back whatever happens. Prints CAUGHT or
MISSED per bug.

    .venv/bin/python bench/planted_bugs.py
"""

import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PLANTS = [
    ("sim compares only element 0 of each output beat", "hwgen/sim/runner.py",
     "    differ = arrived[:n] != exp[:n]\n",
     "    differ = arrived[:n] != exp[:n]\n    differ[:, 1:] = False\n",
     ["tests/sim/test_checker.py"]),
    ("a value one above the dtype's maximum passes", "hwgen/core/dtypes.py",
     "values.max() <= self.max)", "values.max() <= self.max + 1)",
     ["tests/core/test_ranges.py", "tests/core/test_dtypes.py"]),
    ("the iCE40 fit margin 1.41 replaced by 1.0", "hwgen/targets/ice40.py",
     "logic_margin=1.41,", "logic_margin=1.0,", ["tests/analysis/test_margins.py"]),
    ("the host accepts an answer whose length field is wrong", "hwgen/flows/link.py",
     "    if length != expected:", "    if False:", ["tests/flows/test_link_protocol.py"]),
    ("conv PE legality removed", "hwgen/ops/conv2d.py",
     "        if self.channels % pe:\n", "        if False:\n", ["tests/ir/test_legality.py"]),
]
for what, path, old, new, tests in PLANTS:
    p = ROOT / path
    src = p.read_text()
    assert src.count(old) == 1, (what, old)
    p.write_text(src.replace(old, new))
    try:
        run = subprocess.run([str(ROOT / ".venv/bin/python"), "-m", "pytest", "-p", "no:xdist",
                              "-q", "-x", *tests], cwd=ROOT, capture_output=True, text=True,
                             check=False)
        last = run.stdout.strip().splitlines()[-1]
        print(f"{'CAUGHT' if run.returncode else 'MISSED'}: {what} ({path}): {last}", flush=True)
    finally:
        p.write_text(src)
