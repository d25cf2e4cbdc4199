"""Fuzz bench: the Hypothesis properties of ``tests/components/data/test_fuzz_inputs.py`` with many examples.

    python bench/fuzz.py [--examples N] [-k TEXT] [--out FILE]

The properties (importers, manifest step, image decoder, serving decoder; see that module) run
with ``N`` examples each instead of the 120 of the test suite, one after the other in this process.
Per property it prints the examples Hypothesis generated (valid, rejected as invalid, failing), the
distinct failures found and the seconds taken; a failure is printed with its falsifying example and
the exit code is 1. The examples are derandomized (as in the tests): the same ``N`` explores the
same examples, a larger ``N`` explores further. Framework-free: no torch, no TensorFlow.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import traceback
from pathlib import Path

MODULE = "tests.components.data.test_fuzz_inputs"


def properties(module) -> list:
    return [
        getattr(module, name)
        for name in dir(module)
        if name.startswith("test_") and hasattr(getattr(module, name), "hypothesis")
    ]


def run_property(test) -> dict:
    """Run one property to the end; its generate-phase counts from Hypothesis's run statistics."""
    from hypothesis.statistics import collector

    stats: list[dict] = []
    start = time.perf_counter()
    error = None
    with collector.with_value(stats.append):
        try:
            test()
        except BaseException as exc:  # a falsified property (or an ExceptionGroup of several)
            if isinstance(exc, KeyboardInterrupt):
                raise
            error = "".join(traceback.format_exception(exc))[-4000:]
    seconds = time.perf_counter() - start
    cases = [c for s in stats for c in s.get("generate-phase", {}).get("test-cases", [])]
    status = [c["status"] for c in cases]
    failures = max((d.get("distinct-failures", 0) for s in stats for d in s.values() if isinstance(d, dict)), default=0)
    return {
        "property": test.__name__,
        "examples": len(cases),
        "valid": status.count("valid"),
        "invalid": status.count("invalid") + status.count("overrun"),
        "failing": status.count("interesting"),
        "distinct_failures": max(failures, 1 if error else 0),
        "seconds": round(seconds, 1),
        "error": error,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python bench/fuzz.py", description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, default=2000, help="examples per property (default 2000)")
    parser.add_argument("-k", dest="select", default="", help="only properties whose name contains this")
    parser.add_argument("--out", help="also write the results as JSON here")
    args = parser.parse_args(argv)
    if args.examples < 1:
        parser.error("--examples must be at least 1")
    os.environ["FUZZ_EXAMPLES"] = str(args.examples)  # read by the test module when it is imported
    import importlib

    module = importlib.import_module(MODULE)
    chosen = [t for t in properties(module) if args.select in t.__name__]
    if not chosen:
        parser.error(f"no property of {MODULE} matches {args.select!r}")
    rows = []
    print(f"{'property':<52} {'examples':>8} {'valid':>6} {'invalid':>7} {'failing':>7} {'failures':>8} {'s':>7}")
    for test in chosen:
        row = run_property(test)
        rows.append(row)
        print(
            f"{row['property']:<52} {row['examples']:>8} {row['valid']:>6} {row['invalid']:>7} {row['failing']:>7} "
            f"{row['distinct_failures']:>8} {row['seconds']:>7}",
            flush=True,
        )
        if row["error"]:
            print(row["error"], file=sys.stderr)
    total = sum(r["examples"] for r in rows)
    found = sum(r["distinct_failures"] for r in rows)
    print(
        f"{len(rows)} properties, {total} examples, {found} distinct failure(s), "
        f"{sum(r['seconds'] for r in rows):.0f} s (--examples {args.examples})"
    )
    if args.out:
        result = {"examples_per_property": args.examples, "properties": rows}
        Path(args.out).write_text(json.dumps(result, indent=2) + "\n")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
