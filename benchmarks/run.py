"""Run the performance suite: markdown tables on stdout, everything in JSON.

::

    python benchmarks/run.py                  # every suite (long)
    python benchmarks/run.py --quick          # smaller sizes and budgets
    python benchmarks/run.py --only solution startup --json out.json

Each suite is a module ``benchmarks/bench_<name>.py`` with a function
``run(quick) -> list[Table]``. Timings inside a table are measured side by
side in one process (interleaved), so that the ratios survive a noisy
machine. A suite that is missing or fails is reported and skipped; the JSON
file (``benchmarks/results.json`` by default) is rewritten after every suite
with the tables so far and the machine description.
"""

import argparse
import importlib
import json
import sys
import time
import traceback
from pathlib import Path

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))

from _harness import machine_info  # noqa: E402

SUITES = ["defaults", "startup", "kernels", "threading", "parallel", "solution",
          "scaling", "memory", "mlp", "convex"]


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description="skbnorm performance suite (markdown tables + JSON).")
    parser.add_argument("--quick", action="store_true",
                        help="smaller sizes, caps and repeats (a few minutes)")
    parser.add_argument("--only", nargs="+", choices=SUITES, metavar="NAME",
                        help=f"run only these suites, out of {', '.join(SUITES)}")
    parser.add_argument("--json", type=Path, default=HERE / "results.json",
                        metavar="PATH",
                        help="where to write the results (default: "
                             "benchmarks/results.json)")
    return parser.parse_args(argv)


def write_json(path, payload):
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(payload, indent=2) + "\n", encoding="utf-8")
    tmp.replace(path)


def main(argv=None):
    args = parse_args(argv)
    names = [s for s in SUITES if args.only is None or s in args.only]
    info = machine_info()
    payload = {"quick": args.quick, "machine": info, "suites": {}}
    print("# skbnorm performance suite" + (" (quick)" if args.quick else ""))
    print()
    print(", ".join(f"{k}={v}" for k, v in info.items() if v is not None))
    print()
    for name in names:
        module_name = f"bench_{name}"
        entry = {"status": "ok", "seconds": None, "tables": []}
        payload["suites"][name] = entry
        print(f"## {name}", flush=True)
        print()
        start = time.perf_counter()
        if not (HERE / f"{module_name}.py").exists():
            entry["status"] = "missing"
            print(f"(skipped: benchmarks/{module_name}.py does not exist yet)")
            print()
            write_json(args.json, payload)
            continue
        try:
            tables = importlib.import_module(module_name).run(args.quick)
        except Exception:  # report, and go on with the other suites
            tables = []
            entry["status"] = "error"
            entry["error"] = traceback.format_exc()
            print(f"(suite {name} failed)\n{entry['error']}", flush=True)
        entry["seconds"] = time.perf_counter() - start
        for table in tables:
            entry["tables"].append(table.as_dict())
            print(table.markdown())
            print()
        print(f"({name}: {entry['seconds']:.0f} s)")
        print(flush=True)
        write_json(args.json, payload)
    write_json(args.json, payload)
    print(f"results written to {args.json}")
    failed = [n for n, e in payload["suites"].items() if e["status"] == "error"]
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
