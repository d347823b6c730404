"""What the last ``make mutation`` left, per module: mutants killed, mutants no test in the
selection reaches, survivors explained as equivalent in ``bench/mutation_equivalent.json``
(name: why it cannot change what hwgen does), and the survivors nobody has explained yet,
each with its diff. An explained name that no longer survives is reported too, so the file
does not keep stale reasons.

    .venv/bin/python bench/mutation_report.py [--diffs]
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
from collections import Counter, defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
EXPLAINED = ROOT / "bench" / "mutation_equivalent.json"
# mutmut's exit codes per mutant in its .meta files
KILLED, SURVIVED, NO_TESTS = 1, 0, 33


def results() -> dict[str, dict[str, int | None]]:
    """module path -> {mutant name: exit code} from ``mutants/**/*.py.meta``."""
    found = {}
    for meta in sorted((ROOT / "mutants").glob("hwgen/**/*.py.meta")):
        codes = json.loads(meta.read_text())["exit_code_by_key"]
        if codes:
            found[str(meta.relative_to(ROOT / "mutants")).removesuffix(".meta")] = codes
    return found


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--diffs", action="store_true", help="print each unexplained survivor's diff")
    args = ap.parse_args()
    explained = json.loads(EXPLAINED.read_text())
    found = results()
    if not found:
        raise SystemExit("no mutants/ folder with results: run make mutation first")
    unexplained: list[str] = []
    survived_names = set()
    total: Counter = Counter()
    print(f"{'module':44} {'mutants':>8} {'killed':>7} {'no test':>8} {'equiv.':>7} "
          f"{'open':>5} {'not run':>8}")
    for module, codes in found.items():
        c = Counter()
        for name, code in codes.items():
            if code == SURVIVED:
                survived_names.add(name)
                c["equivalent" if name in explained else "open"] += 1
                if name not in explained:
                    unexplained.append(name)
            else:
                c[{KILLED: "killed", NO_TESTS: "no tests", None: "not run"}.get(code,
                                                                             "other")] += 1
        c["mutants"] = len(codes)
        total.update(c)
        print(f"{module:44} {c['mutants']:8} {c['killed']:7} {c['no tests']:8} "
              f"{c['equivalent']:7} {c['open']:5} {c['not run']:8}")
    print(f"{'all':44} {total['mutants']:8} {total['killed']:7} {total['no tests']:8} "
          f"{total['equivalent']:7} {total['open']:5} {total['not run']:8}"
          + (f"; {total['other']} timed out or crashed" if total["other"] else ""))
    stale = sorted(set(explained) - survived_names)
    if stale:
        print(f"\n{len(stale)} explained in {EXPLAINED.name} no longer survive (drop them):")
        print("\n".join(f"  {name}" for name in stale))
    if unexplained:
        print(f"\n{len(unexplained)} survivors not explained: kill each with a test, or say in "
              f"{EXPLAINED.name} why it is equivalent")
        by_function = defaultdict(list)
        for name in unexplained:
            by_function[re.sub(r"__mutmut_\d+$", "", name)].append(name)
        for function, names in by_function.items():
            print(f"  {function}: {', '.join(n.rsplit('_', 1)[1] for n in names)}")
            if args.diffs:
                for name in names:
                    diff = subprocess.run([str(ROOT / ".venv" / "bin" / "mutmut"), "show", name],
                                          cwd=ROOT, capture_output=True, text=True).stdout
                    print("\n".join(f"      {line}" for line in diff.splitlines()
                                    if line[:1] in "+-" and line[:3] not in ("+++", "---")))


if __name__ == "__main__":
    main()
