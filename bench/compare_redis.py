#!/usr/bin/env python3
"""Runs the same redis-benchmark load against usld and redis-server, alternating A/B, and prints a
Markdown table of throughput, p50/p99 latency and the usld/Redis ratios.

Each usld command is paired with the Redis command that does the same work on a one-field hash:
  SET doc:N name Alice   vs  HSET doc:N name Alice
  GET doc:N              vs  HGETALL doc:N
  INC doc:N count 1      vs  HINCRBY doc:N count 1
Keys are drawn from a seeded-by-redis-benchmark keyspace (-r); the GET rows read keys the SET rows
wrote. Each row runs --rounds times per server, alternating, and the median round is reported,
because the load generator shares the machine's cores with the server under test.
"""
import argparse
import csv
import io
import os
import signal
import socket
import statistics
import subprocess
import sys
import time

WORKLOADS = [
    ("SET", ["SET", "doc:__rand_int__", "name", "Alice"], ["HSET", "doc:__rand_int__", "name", "Alice"]),
    ("GET", ["GET", "doc:__rand_int__"], ["HGETALL", "doc:__rand_int__"]),
    ("INC", ["INC", "doc:__rand_int__", "count", "1"], ["HINCRBY", "doc:__rand_int__", "count", "1"]),
]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port, proc, name):
    deadline = time.time() + 20
    while time.time() < deadline:
        if proc.poll() is not None:
            sys.exit(f"{name} exited early with status {proc.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1) as s:
                s.sendall(b"PING\r\n")
                if s.recv(16).startswith(b"+PONG"):
                    return
        except OSError:
            time.sleep(0.05)
    sys.exit(f"{name} did not start on port {port}")


def bench(port, command, clients, requests, pipeline, keyspace):
    args = ["redis-benchmark", "-h", "127.0.0.1", "-p", str(port), "-c", str(clients),
            "-n", str(requests), "-r", str(keyspace), "-P", str(pipeline), "--csv"] + command
    out = subprocess.run(args, check=True, capture_output=True, text=True).stdout
    rows = list(csv.DictReader(io.StringIO(out)))
    if not rows:
        sys.exit(f"redis-benchmark printed no result for {' '.join(command)}:\n{out}")
    row = rows[-1]
    return {k: float(row[k]) for k in ("rps", "p50_latency_ms", "p99_latency_ms")}


def median_run(runs):
    runs = sorted(runs, key=lambda r: r["rps"])
    return runs[len(runs) // 2]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--usld", default="target/release/usld")
    ap.add_argument("--shards", type=int, default=os.cpu_count() or 1, help="usld --shards")
    ap.add_argument("--clients", type=int, default=50)
    ap.add_argument("--requests", type=int, default=200_000)
    ap.add_argument("--keyspace", type=int, default=100_000)
    ap.add_argument("--pipelines", default="1,16")
    ap.add_argument("--rounds", type=int, default=3)
    opts = ap.parse_args()

    usld_port, redis_port = free_port(), free_port()
    usld = subprocess.Popen([opts.usld, "--bind", "127.0.0.1", "--tcp-port", str(usld_port), "--no-ws",
                             "--shards", str(opts.shards), "--log-level", "warn"])
    redis = subprocess.Popen(["redis-server", "--port", str(redis_port), "--bind", "127.0.0.1",
                              "--save", "", "--appendonly", "no"], stdout=subprocess.DEVNULL)
    try:
        wait_port(usld_port, usld, "usld")
        wait_port(redis_port, redis, "redis-server")
        redis_version = subprocess.run(["redis-server", "--version"], capture_output=True, text=True).stdout.split()[2]
        rows = []
        for pipeline in [int(p) for p in opts.pipelines.split(",")]:
            for name, usld_cmd, redis_cmd in WORKLOADS:
                u_runs, r_runs = [], []
                for _ in range(opts.rounds):
                    u_runs.append(bench(usld_port, usld_cmd, opts.clients, opts.requests, pipeline, opts.keyspace))
                    r_runs.append(bench(redis_port, redis_cmd, opts.clients, opts.requests, pipeline, opts.keyspace))
                u, r = median_run(u_runs), median_run(r_runs)
                rows.append((name, " ".join(usld_cmd[:1]), " ".join(redis_cmd[:1]), pipeline, u, r))
                print(f"# {name} P={pipeline}: usld {u['rps']:.0f}/s, redis {r['rps']:.0f}/s", file=sys.stderr)
    finally:
        for proc in (usld, redis):
            proc.send_signal(signal.SIGTERM)
        for proc in (usld, redis):
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()

    print(f"usld --shards {opts.shards} vs {redis_version}; redis-benchmark -c {opts.clients} "
          f"-n {opts.requests} -r {opts.keyspace}; median of {opts.rounds} alternating rounds; "
          f"{os.cpu_count()} cores shared by server and load generator.\n")
    print("| workload | pipeline | usld req/s | Redis req/s | usld/Redis | usld p50 ms | Redis p50 ms | usld p99 ms | Redis p99 ms |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for name, ucmd, rcmd, pipeline, u, r in rows:
        print(f"| {ucmd} vs {rcmd} | {pipeline} | {u['rps']:,.0f} | {r['rps']:,.0f} | {u['rps'] / r['rps']:.2f} | "
              f"{u['p50_latency_ms']:.3f} | {r['p50_latency_ms']:.3f} | {u['p99_latency_ms']:.3f} | {r['p99_latency_ms']:.3f} |")


if __name__ == "__main__":
    main()
