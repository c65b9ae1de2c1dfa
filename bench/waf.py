#!/usr/bin/env python3
"""What the WAF costs: wrk against one Portcullis process, WAF on (`/on/`), WAF on with
remembered detections off (`/fresh/`), and no WAF (`/off/`).

    python3 bench/waf.py [--bin target/release/portcullis] [--duration 10] [--rounds 3]
                         [--connections 32] [--out bench/results/waf-<time>.json]

Workloads: `get` and `post`, the same as ../shared/bench/waf/bench_throughput.py (the nginx +
ModSecurity + CRS reference): a benign API GET with a query string, and a benign ~1 KB JSON POST,
the same request every time. `get-varied` and `post-varied` are those requests with the values
a client would change made unique per request (the search text, the page, the order id, the
customer's name and e-mail, the comment), while the headers, paths and JSON keys stay those of
one client: what the engine's remembered detections meet in real traffic. The upstream is
a one-worker nginx answering `200 ok` on a free loopback port, started and stopped (by PID)
here. The gateway is pinned to CPU 0 with one runtime worker, wrk and nginx to CPU 1. Per run: wrk's requests/s and
p99, and the gateway's CPU time (utime+stime of the whole process from /proc) per request.
Runs are interleaved (the route order rotates per round); the summary gives the medians and
the ratios to `/off/`. Every wrk run is bounded (--duration + 30 s); every process started
here is stopped by its PID.
"""
import argparse
import json
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
CLK_TCK = os.sysconf("SC_CLK_TCK")
ROUTES = ("off", "on", "fresh")
WORKLOADS = ("get", "post", "get-varied", "post-varied")
GET_PATH = "/api/v1/products?category=books&page=2&limit=50&sort=price&q=rust+programming"
UA = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36"


def json_body_1k():
    """A realistic order of about 1 KB (same shape as the reference harness)."""
    titles = ["The Rust Programming Language", "Designing Data-Intensive Applications",
              "Release It!", "The Pragmatic Programmer"]
    doc = {"order_id": "ord_7f3a9c2e1b",
           "customer": {"name": "Sean O'Brien", "email": "sean@example.com", "phone": "+1-555-0100"},
           "shipping": {"address": "1 Main St, Apt 4", "city": "Springfield", "zip": "62704",
                        "note": "Please leave the parcel at the front desk, thanks!"},
           "items": [], "coupon": "SPRING24", "gift": False}
    i = 0
    while True:
        doc["items"].append({"sku": f"BK-{1000 + i}", "qty": 1 + i % 3, "price": 19.99 + i,
                             "title": titles[i % 4]})
        if len(json.dumps(doc)) > 1024:
            doc["items"].pop()
            break
        i += 1
    doc["comment"] = ""
    while len(json.dumps(doc)) < 1024:
        doc["comment"] += "Thanks for the quick delivery last time. "[len(doc["comment"]) % 41]
    return json.dumps(doc)


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def wait_port(port, timeout=10.0):
    end = time.time() + timeout
    while time.time() < end:
        try:
            socket.create_connection(("127.0.0.1", port), 0.2).close()
            return True
        except OSError:
            time.sleep(0.05)
    return False


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def pin(pid, cpus):
    try:
        os.sched_setaffinity(pid, cpus)
    except OSError:
        pass


def parse_wrk(out):
    r = {}
    m = re.search(r"Requests/sec:\s+([\d.]+)", out)
    r["rps"] = float(m.group(1)) if m else None
    m = re.search(r"(\d+) requests in", out)
    r["requests"] = int(m.group(1)) if m else 0
    m = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    r["non_2xx"] = int(m.group(1)) if m else 0
    for pct in ("50", "99"):
        m = re.search(rf"\s{pct}(?:\.000)?%\s+([\d.]+)(us|ms|s)", out)
        if m:
            v, unit = float(m.group(1)), m.group(2)
            r[f"p{pct}_ms"] = v / 1000 if unit == "us" else v * 1000 if unit == "s" else v
    return r


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bin", default=os.path.join(REPO, "target/release/portcullis"))
    ap.add_argument("--duration", type=int, default=10)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--connections", type=int, default=32)
    ap.add_argument("--out")
    args = ap.parse_args()
    for tool in ("wrk", "nginx"):
        if not shutil.which(tool):
            sys.exit(f"waf.py: {tool} not found (apt-get install {tool})")
    if not os.access(args.bin, os.X_OK):
        sys.exit(f"waf.py: {args.bin} not found; cargo build --release -p portcullis")

    tmp = tempfile.mkdtemp(prefix="portcullis-wafbench-")
    up_port, gw_port = free_port(), free_port()
    os.makedirs(f"{tmp}/nginx/logs")
    with open(f"{tmp}/nginx/nginx.conf", "w") as f:
        f.write(f"""worker_processes 1; daemon off; pid {tmp}/nginx/nginx.pid; error_log {tmp}/nginx/logs/error.log;
events {{ worker_connections 4096; }}
http {{ access_log off; client_body_temp_path {tmp}/nginx; proxy_temp_path {tmp}/nginx;
  fastcgi_temp_path {tmp}/nginx; uwsgi_temp_path {tmp}/nginx; scgi_temp_path {tmp}/nginx;
  keepalive_requests 1000000;
  server {{ listen 127.0.0.1:{up_port}; location / {{ return 200 "ok\\n"; }} }} }}
""")
    body = json_body_1k()
    with open(f"{tmp}/post.lua", "w") as f:
        f.write('wrk.method = "POST"\nwrk.body = ' + json.dumps(body) +
                '\nwrk.headers["Content-Type"] = "application/json"\n'
                f'wrk.headers["User-Agent"] = "{UA}"\n')
    with open(f"{tmp}/get.lua", "w") as f:
        f.write(f'wrk.headers["User-Agent"] = "{UA}"\nwrk.headers["Accept"] = "application/json"\n')
    # Varied: the path prefix (/on, /fresh, /off) comes from the URL wrk is given; Lua adds the
    # rest with a per-request counter.
    doc = json.loads(body)
    template = json.dumps(doc).replace(doc["order_id"], "ORDER").replace(
        doc["customer"]["name"], "NAME").replace(doc["customer"]["email"], "EMAIL").replace(
        doc["comment"], "COMMENT")
    with open(f"{tmp}/get-varied.lua", "w") as f:
        f.write(f'wrk.headers["User-Agent"] = "{UA}"\nwrk.headers["Accept"] = "application/json"\n'
                'local n = 0\nlocal prefix = wrk.path\n'
                'request = function()\n  n = n + 1\n'
                '  return wrk.format(nil, prefix .. "/api/v1/products?category=books&page=" .. (n % 97) ..'
                ' "&limit=50&sort=price&q=rust+programming+" .. n)\nend\n')
    with open(f"{tmp}/post-varied.lua", "w") as f:
        f.write(f'wrk.method = "POST"\nwrk.headers["Content-Type"] = "application/json"\n'
                f'wrk.headers["User-Agent"] = "{UA}"\n'
                f'local template = {json.dumps(template)}\n'
                'local n = 0\nlocal prefix = wrk.path\n'
                'request = function()\n  n = n + 1\n'
                '  local b = template:gsub("ORDER", "ord_" .. n):gsub("NAME", "Customer " .. n)'
                ':gsub("EMAIL", "user" .. n .. "@example.com")'
                ':gsub("COMMENT", "Order " .. n .. ": thanks for the quick delivery last time.")\n'
                '  return wrk.format(nil, prefix .. "/api/v1/orders", nil, b)\nend\n')

    procs = []
    try:
        nginx = subprocess.Popen(["nginx", "-p", f"{tmp}/nginx", "-c", f"{tmp}/nginx/nginx.conf"],
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        procs.append(nginx)
        # The gateway gets one core (pinned below), so one runtime worker: two workers on one
        # core only add context switches (measured: about 20 % more CPU per request, on and off).
        env = dict(os.environ, LISTEN=f"127.0.0.1:{gw_port}", UPSTREAM=f"127.0.0.1:{up_port}",
                   PORTCULLIS_LOG=os.environ.get("PORTCULLIS_LOG", "error"), TOKIO_WORKER_THREADS="1")
        gw = subprocess.Popen([args.bin, "run", "--config", os.path.join(HERE, "gw-waf.yaml")],
                              env=env, stdout=subprocess.DEVNULL, stderr=open(f"{tmp}/gw.err", "w"))
        procs.append(gw)
        if not (wait_port(up_port) and wait_port(gw_port)):
            sys.exit(f"waf.py: upstream or gateway did not start (see {tmp})")
        ncpu = os.cpu_count() or 1
        if ncpu >= 2:
            pin(gw.pid, {0})
            for t in os.listdir(f"/proc/{gw.pid}/task"):
                pin(int(t), {0})
            pin(nginx.pid, {1})
            for line in subprocess.run(["pgrep", "-P", str(nginx.pid)], capture_output=True, text=True).stdout.split():
                pin(int(line), {1})
        # Smoke: both routes answer 200 for both workloads; an attack gets 403 on /on/ only.
        for path in ("/on", "/fresh", "/off"):
            out = subprocess.run(["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "-X", "POST",
                                  "-H", "Content-Type: application/json", "--data", body,
                                  f"http://127.0.0.1:{gw_port}{path}/orders"], capture_output=True, text=True).stdout
            if out != "200":
                sys.exit(f"waf.py: smoke POST {path} got {out}")
        attack = subprocess.run(["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}",
                                 f"http://127.0.0.1:{gw_port}/on/x?id=1%27%20OR%20%271%27%3D%271"],
                                capture_output=True, text=True).stdout
        if attack != "403":
            sys.exit(f"waf.py: smoke attack on /on/ got {attack}, want 403")
        # Remembered detections: the same attack again is still refused.
        again = subprocess.run(["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}",
                                f"http://127.0.0.1:{gw_port}/on/x?id=1%27%20OR%20%271%27%3D%271"],
                               capture_output=True, text=True).stdout
        if again != "403":
            sys.exit(f"waf.py: repeated attack on /on/ got {again}, want 403")

        runs = []
        for rnd in range(args.rounds):
            order = ROUTES[rnd % 3:] + ROUTES[:rnd % 3]
            for workload in WORKLOADS:
                for cfg in order:
                    path = {"get": GET_PATH, "post": "/api/v1/orders"}.get(workload, "")
                    url = f"http://127.0.0.1:{gw_port}/{cfg}{path}"
                    cmd = ["wrk", "-t", "2", "-c", str(args.connections), "-d", f"{args.duration}s",
                           "--latency", "-s", f"{tmp}/{workload}.lua", url]
                    if ncpu >= 2:
                        cmd = ["taskset", "-c", "1"] + cmd
                    c0, t0 = cpu_seconds(gw.pid), time.time()
                    out = subprocess.run(cmd, capture_output=True, text=True, timeout=args.duration + 30).stdout
                    c1, t1 = cpu_seconds(gw.pid), time.time()
                    r = parse_wrk(out)
                    r.update(round=rnd, workload=workload, waf=cfg, wall_s=round(t1 - t0, 2),
                             cpu_s=round(c1 - c0, 3))
                    r["cpu_us_per_req"] = round((c1 - c0) * 1e6 / r["requests"], 2) if r["requests"] else None
                    runs.append(r)
                    print(f"round {rnd} {workload:11} waf={cfg:5} rps={r['rps']} p99={r.get('p99_ms')}ms "
                          f"cpu/req={r['cpu_us_per_req']}us non2xx={r['non_2xx']}", flush=True)
    finally:
        for p in reversed(procs):
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
                try:
                    p.wait(10)
                except subprocess.TimeoutExpired:
                    p.kill()

    summary = {}
    for workload in WORKLOADS:
        med = {}
        for cfg in ROUTES:
            rs = [r for r in runs if r["workload"] == workload and r["waf"] == cfg and r["rps"]]
            med[cfg] = {k: round(statistics.median([r[k] for r in rs if r.get(k) is not None]), 2)
                        for k in ("rps", "p99_ms", "cpu_us_per_req")}
        summary[workload] = dict(med)
        for cfg in ("on", "fresh"):
            summary[workload][f"throughput_{cfg}_vs_off"] = round(med[cfg]["rps"] / med["off"]["rps"], 3)
            summary[workload][f"cpu_{cfg}_vs_off"] = round(
                med[cfg]["cpu_us_per_req"] / med["off"]["cpu_us_per_req"], 3)
    print("\nmedians (same process, same run; target: WAF-on throughput >= x0.85 of off):")
    for w, s in summary.items():
        line = f"  {w:11}: off {s['off']['rps']:.0f} rps {s['off']['cpu_us_per_req']} us/req p99 {s['off']['p99_ms']} ms"
        for cfg in ("on", "fresh"):
            line += (f" | {cfg} {s[cfg]['rps']:.0f} rps {s[cfg]['cpu_us_per_req']} us/req p99 {s[cfg]['p99_ms']} ms"
                     f" x{s[f'throughput_{cfg}_vs_off']} (cpu x{s[f'cpu_{cfg}_vs_off']})")
        print(line)
    out = args.out or os.path.join(HERE, "results", time.strftime("waf-%Y%m%dT%H%M%SZ.json", time.gmtime()))
    os.makedirs(os.path.dirname(out), exist_ok=True)
    with open(out, "w") as f:
        json.dump({"meta": {"duration": args.duration, "rounds": args.rounds, "connections": args.connections,
                            "bin": args.bin, "json_body_bytes": len(body)},
                   "runs": runs, "summary": summary}, f, indent=1)
    print(f"results: {out}")
    shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
