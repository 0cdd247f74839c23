#!/usr/bin/env python3
"""teld's planner side by side with astroplan and the upper bounds, on telsched
instances (../shared/bench/). Prints one table with ratios; see BENCHMARKS.md.

    .venv-bench/bin/python bench/plan_compare.py [--bench-dir ../shared/bench]
        [--teld target/release/teld] [--astroplan-max-n 1000] [instances...]

Every schedule (teld's and astroplan's) is scored by the benchmark's own validator
(validate.py / validate_v2.py). Bounds: v1 the LP of the exact 60 s time-indexed model
(ilp_bound.py --lp-only; the exact MIP for n <= 50), v2 bound_v2.py (certified, charges
only settle_s). They are cached in bench/plan_bounds.json because they take minutes.
The "reference greedy" is the best density greedy listed in RESULTS.md where it lists
one, else teld's own density-greedy construction (which matches the listed ones:
1869 vs 1870 on medium, 420 vs 418 on small).
"""
import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
CACHE = os.path.join(HERE, "plan_bounds.json")
# RESULTS.md, best density-greedy row per example instance.
LISTED_GREEDY = {
    "neonet-2026-11-24-small-n100-s1": 418,
    "neonet-2026-11-24-medium-n1000-s1": 1870,
    "lapalma-2026-11-24-n50-s1": 232,
    "lapalma-2026-11-24-n200-s1": 812,
    "lapalma-2026-11-24-n1000-s1": 1516,
}


def run(cmd, **kw):
    t0 = time.perf_counter()
    p = subprocess.run(cmd, capture_output=True, text=True, **kw)
    if p.returncode != 0:
        sys.exit(f"{' '.join(cmd)} failed ({p.returncode}):\n{p.stderr[-2000:]}")
    return p.stdout, time.perf_counter() - t0


def score(bench, inst_path, version, sched_path):
    script = "validate.py" if version == 1 else "validate_v2.py"
    out, _ = run([sys.executable, os.path.join(bench, script), inst_path, sched_path])
    value = float(re.search(r"^value: ([0-9.]+)", out, re.M).group(1))
    if version == 1:
        invalid = int(re.search(r"^n_invalid: (\d+)", out, re.M).group(1))
    else:
        invalid = int(re.search(r"^n_violations: (\d+)", out, re.M).group(1))
    return value, invalid


def bound(bench, inst, inst_path, cache):
    name = inst["name"]
    if name in cache:
        return cache[name]
    if inst["version"] == 1:
        n = len(inst["targets"])
        res_path = os.path.join(tempfile.mkdtemp(prefix="bound-"), "bound.json")
        args = ["--threads", "1", "--out", res_path] + (["--time-limit", "600"] if n <= 50 else ["--lp-only"])
        run([sys.executable, os.path.join(bench, "ilp_bound.py"), *args, inst_path])
        res = json.load(open(res_path))
        mip = res.get("mip")
        if mip and mip.get("mip_gap") == 0.0:
            kind, val = "optimum (exact MIP)", float(mip["objective"])
        else:
            kind, val = "LP of the exact 60 s model", float(res["lp"]["objective"])
    else:
        out, _ = run([sys.executable, os.path.join(bench, "bound_v2.py"), inst_path])
        val = float(re.search(r"^bound ([0-9.]+)", out, re.M).group(1))
        kind = "bound_v2 (settle only)"
    cache[name] = {"bound": val, "kind": kind}
    with open(CACHE, "w") as f:
        json.dump(cache, f, indent=1, sort_keys=True)
    return cache[name]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("instances", nargs="*")
    ap.add_argument("--bench-dir", default=os.path.join(HERE, "..", "..", "shared", "bench"))
    ap.add_argument("--teld", default=os.path.join(HERE, "..", "target", "release", "teld"))
    ap.add_argument("--astroplan-max-n", type=int, default=1000,
                    help="run astroplan on v1 instances up to this many targets (n1000 takes ~2 min)")
    ap.add_argument("--seed", default="1")
    a = ap.parse_args()
    bench = os.path.abspath(a.bench_dir)
    paths = a.instances or sorted(
        os.path.join(bench, "instances", f) for f in os.listdir(os.path.join(bench, "instances")))
    cache = json.load(open(CACHE)) if os.path.exists(CACHE) else {}
    rows = []
    tmp = tempfile.mkdtemp(prefix="plan-compare-")
    for path in paths:
        inst = json.load(open(path))
        name, version = inst["name"], inst["version"]
        sched = os.path.join(tmp, f"{name}.teld.json")
        run([a.teld, "plan", "--instance", path, "--out", sched, "--seed", a.seed])
        doc = json.load(open(sched))
        value, invalid = score(bench, path, version, sched)
        b = bound(bench, inst, path, cache)
        greedy = LISTED_GREEDY.get(name, doc["params"]["greedy_value"])
        row = dict(name=name, value=value, invalid=invalid, cpu=doc["cpu_time_s"], bound=b["bound"],
                   bound_kind=b["kind"], greedy=greedy, listed=name in LISTED_GREEDY)
        n = len(inst["targets"]) if version == 1 else len(inst["requests"])
        if version == 1 and n <= a.astroplan_max_n:
            ap_sched = os.path.join(tmp, f"{name}.astroplan.json")
            run([sys.executable, os.path.join(bench, "run_astroplan.py"), path, "priority", ap_sched, "--res", "60"])
            row["astroplan_value"], row["astroplan_invalid"] = score(bench, path, 1, ap_sched)
            row["astroplan_cpu"] = json.load(open(ap_sched))["cpu_time_s"]
        rows.append(row)
        print(f"done {name}", file=sys.stderr, flush=True)

    print("| instance | teld value | invalid | teld CPU s | bound | % of bound | greedy ref | teld / greedy |"
          " astroplan value | astroplan CPU s | value ratio teld/astroplan | CPU ratio astroplan/teld |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        ap_cols = "| — | — | — | —"
        if "astroplan_value" in r:
            ap_cols = (f"| {r['astroplan_value']:.0f} | {r['astroplan_cpu']:.1f} | "
                       f"{r['value'] / max(r['astroplan_value'], 1):.3f} | {r['astroplan_cpu'] / max(r['cpu'], 1e-9):.0f}x")
        ref = f"{r['greedy']:.0f}" + (" (RESULTS.md)" if r["listed"] else " (teld greedy)")
        print(f"| {r['name']} | {r['value']:.0f} | {r['invalid']} | {r['cpu']:.3f} | {r['bound']:.1f} "
              f"({r['bound_kind']}) | {100 * r['value'] / r['bound']:.1f} | {ref} | "
              f"{100 * (r['value'] / r['greedy'] - 1):+.1f} % {ap_cols} |")


if __name__ == "__main__":
    main()
