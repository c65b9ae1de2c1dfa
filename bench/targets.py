#!/usr/bin/env python3
"""Portcullis against the project's performance targets, from one results JSON of the shared
benchmark harness (bench/run.sh runs this at the end; see bench/README.md).

    python3 bench/targets.py bench/results/portcullis-<time>.json [--name portcullis] [--ref nginx]

Targets (plain HTTP/1.1 proxying, both measured side by side in the same run):
  throughput  req/s            >= 1.10 x the reference's
  CPU         proxy us/request <= the reference's
  latency     p99              <= the reference's
The other scenarios the gateway ran in are judged by the same bars, for information.
Standard library only; reads the file, changes nothing, exits 0 unless the file is unusable.
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys

RPS_MIN, CPU_MAX, P99_MAX = 1.10, 1.00, 1.00
TARGET_SCENARIO = "plain"


def ratio(a, b):
    return a / b if a is not None and b else None


def cell(v, fmt="{:.2f}"):
    return "-" if v is None else fmt.format(v)


def main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("results", help="results JSON written by the harness")
    p.add_argument("--name", default="portcullis", help="--gateway-name of the run (default portcullis)")
    p.add_argument("--ref", default=None, help="reference peer (default: the run's --ref, normally nginx)")
    a = p.parse_args(argv)
    try:
        with open(a.results) as f:
            res = json.load(f)
        summary = res["summary"]
        args = res["meta"]["args"]
    except (OSError, ValueError, KeyError) as e:
        print(f"targets: cannot read {a.results}: {e}", file=sys.stderr)
        return 2
    ref = a.ref or args.get("ref") or "nginx"
    workers = args.get("workers") or ["1"]
    ref_names = {ref, f"{ref}/w{workers[0]}"}

    rows = [s for s in summary if s.get("instance") == a.name]
    if not rows:
        print(f"targets: no rows for gateway '{a.name}' in {a.results}")
        return 0
    print(f"Portcullis against {ref}, same run ({args.get('rounds')} rounds x {args.get('duration')} s): "
          f"req/s >= {RPS_MIN:.2f}x, us/req <= {CPU_MAX:.2f}x, p99 <= {P99_MAX:.2f}x")
    hdr = (f"{'scenario':<12} {'req/s':>8} {ref + ' req/s':>12} {'rps/ref':>7} {'us/req':>7} "
           f"{ref + ' us':>9} {'cpu/ref':>7} {'p99 ms':>7} {ref + ' p99':>10} {'p99/ref':>7} "
           f"{'±% rps':>6} {'errors':>6}  verdict")
    print(hdr)
    print("-" * len(hdr))
    misses = []
    for s in rows:
        scen = s["scenario"]
        r = next((x for x in summary if x["scenario"] == scen and x.get("instance") in ref_names), None)
        if r is None:
            print(f"{scen:<12} no {ref} row in this run (is {ref} in --peers?)")
            continue
        rps_r = ratio(s.get("rps"), r.get("rps"))
        cpu_r = ratio(s.get("proxy_us_per_req"), r.get("proxy_us_per_req"))
        p99_r = ratio(s.get("p99_ms"), r.get("p99_ms"))
        spread = (None if not s.get("rps") or s.get("rps_max") is None
                  else (s["rps_max"] - s["rps_min"]) / 2 / s["rps"] * 100)
        fails = []
        if rps_r is None or rps_r < RPS_MIN:
            fails.append("req/s")
        if cpu_r is None or cpu_r > CPU_MAX:
            fails.append("cpu")
        if p99_r is None or p99_r > P99_MAX:
            fails.append("p99")
        if s.get("errors"):
            fails.append("errors")
        verdict = "meets all" if not fails else "misses " + ",".join(fails)
        if scen != TARGET_SCENARIO:
            verdict += " (info)"
        elif fails:
            misses.append(verdict)
        print(f"{scen:<12} {cell(s.get('rps'), '{:.0f}'):>8} {cell(r.get('rps'), '{:.0f}'):>12} "
              f"{cell(rps_r):>7} {cell(s.get('proxy_us_per_req'), '{:.1f}'):>7} "
              f"{cell(r.get('proxy_us_per_req'), '{:.1f}'):>9} {cell(cpu_r):>7} {cell(s.get('p99_ms')):>7} "
              f"{cell(r.get('p99_ms')):>10} {cell(p99_r):>7} {cell(spread, '{:.1f}'):>6} "
              f"{s.get('errors', '-'):>6}  {verdict}")

    unatt = [s["unattributed_cores"] for s in summary if s.get("unattributed_cores") is not None]
    if unatt and statistics.median(unatt) > 0.25:
        print(f"NOTE: other work used {statistics.median(unatt):.2f} cores (median) during this run; "
              "differences under about 20% cannot be told apart. Re-run on an idle machine with "
              "--rounds 5 --duration 10 before quoting a verdict.")
    elif args.get("rounds", 0) < 5:
        print("NOTE: fewer than 5 rounds; for figures to quote use --rounds 5 --duration 10 on an idle machine.")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
