"""Card-view CPU of this tree against another commit, in one run, interleaved.

    python bench/card_compare.py                       # against main, 2 rounds
    python bench/card_compare.py --baseline HEAD~3 --rounds 3 -- --accounts 20000 --updates 3000

Exports the baseline commit (`git archive`) into a temporary directory and runs
`bench/card_bench.py` of each tree in turn (baseline, this tree, baseline, ...) with the same
arguments, so that the machine's load falls on both alike. Each tree caches its demo database in
its own directory (`--dir`, one subdirectory per tree): the trees' migrations differ, so one
database cannot serve both. Each run's figures are its own "card and month views, one by one" line (CPU per view, the
figure that the machine's load disturbs least) and the fallback line (the stack without any
account screen). Ends with one JSON line.
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LINE = re.compile(
    r"^(?P<name>card and month views, one by one|full stack, fallback answer)\s+"
    r"(?P<rate>[\d.]+) updates/s\s+p50\s+(?P<p50>[\d.]+) ms\s+p99\s+(?P<p99>[\d.]+) ms\s+"
    r"CPU\s+(?P<cpu>[\d.]+) ms/update",
    re.M,
)


def export(revision: str, into: Path) -> str:
    commit = subprocess.run(
        ["git", "rev-parse", "--short", revision], cwd=ROOT, check=True, capture_output=True,
        text=True,
    ).stdout.strip()  # fmt: skip
    archive = into / "tree.tar"
    with archive.open("wb") as out:
        subprocess.run(["git", "archive", commit], cwd=ROOT, check=True, stdout=out)
    with tarfile.open(archive) as tar:
        tar.extractall(into / "tree", filter="data")
    return commit


def run(tree: Path, args: list[str]) -> dict[str, dict[str, float]]:
    result = subprocess.run(
        [sys.executable, str(tree / "bench" / "card_bench.py"), *args],
        cwd=tree, capture_output=True, text=True, check=False,
    )  # fmt: skip
    if result.returncode != 0:
        raise SystemExit(f"card_bench failed in {tree}:\n{result.stderr[-2000:]}")
    print(result.stdout.rstrip(), flush=True)
    found = {
        m["name"]: {k: float(m[k]) for k in ("rate", "p50", "p99", "cpu")}
        for m in LINE.finditer(result.stdout)
    }
    return {"view": found["card and month views, one by one"], "floor": found[
        "full stack, fallback answer"]}  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--baseline", default="main", help="the commit to compare against")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument(
        "--data", type=Path, default=ROOT / "data" / "bench-compare",
        help="where each tree's demo database is cached (a subdirectory per tree)",
    )  # fmt: skip
    parser.add_argument("bench_args", nargs="*", help="arguments for card_bench.py (after --)")
    args = parser.parse_args()
    if "--dir" in args.bench_args:
        raise SystemExit("--dir is chosen per tree: use --data instead")
    bench_args = [*args.bench_args, "--concurrency", "1"]
    with tempfile.TemporaryDirectory(prefix="card-compare-") as tmp:
        commit = export(args.baseline, Path(tmp))
        trees = {"baseline": Path(tmp) / "tree", "this tree": ROOT}
        figures: dict[str, list[dict[str, dict[str, float]]]] = {name: [] for name in trees}
        for n in range(args.rounds):
            for name, tree in trees.items():
                print(f"--- round {n + 1}: {name}", flush=True)
                data = args.data / ("baseline-" + commit if name == "baseline" else "tree")
                figures[name].append(run(tree, [*bench_args, "--dir", str(data)]))
    summary = {}
    for name, runs in figures.items():
        summary[name] = {
            "cpu_ms_per_view": statistics.median(r["view"]["cpu"] for r in runs),
            "cpu_ms_fallback": statistics.median(r["floor"]["cpu"] for r in runs),
            "views_per_s": statistics.median(r["view"]["rate"] for r in runs),
            "p99_ms": statistics.median(r["view"]["p99"] for r in runs),
        }
    base, this = summary["baseline"], summary["this tree"]
    ratio = this["cpu_ms_per_view"] / base["cpu_ms_per_view"]
    print(
        f"CPU per view: {this['cpu_ms_per_view']:.2f} ms against {base['cpu_ms_per_view']:.2f} ms"
        f" of {commit} ({ratio:.2f}×; target ≤ 1.25×)"
    )
    print(json.dumps({"baseline": commit, "rounds": args.rounds, **summary, "cpu_ratio": ratio}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
