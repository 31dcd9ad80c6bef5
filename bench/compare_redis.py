#!/usr/bin/env python3
"""Runs the same redis-benchmark load against usld and redis-server, alternating A/B, and prints a
Markdown table of throughput, p50/p99 latency, the server's CPU time per request, and the
usld/Redis ratios.

Each usld command is paired with the Redis command that does the same work on a one-field hash:
  SET doc:N name Alice   vs  HSET doc:N name Alice
  GET doc:N              vs  HGETALL doc:N
  INC doc:N count 1      vs  HINCRBY doc:N count 1
Keys are drawn from a keyspace of --keyspace random ids (redis-benchmark's -r); the GET rows read
keys the SET rows wrote.

With --persistence it compares durable writes instead (see bench/compare_persistence.py).

usld runs twice: with one shard (one thread, like Redis) and with --shards (default: one per
core). Each row runs --rounds times per server, alternating, and the median round is reported,
because the load generator shares the machine's cores with the server under test. Throughput moves
with whatever else the machine runs; the server's own CPU time per request (user + system, read
from /proc before and after each run) moves much less, and is the measure of its efficiency.
"""
import argparse
import csv
import io
import os
import signal
import socket
import subprocess
import sys
import time

WORKLOADS = [
    ("SET", ["SET", "doc:__rand_int__", "name", "Alice"], ["HSET", "doc:__rand_int__", "name", "Alice"]),
    ("GET", ["GET", "doc:__rand_int__"], ["HGETALL", "doc:__rand_int__"]),
    ("INC", ["INC", "doc:__rand_int__", "count", "1"], ["HINCRBY", "doc:__rand_int__", "count", "1"]),
]
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port, proc, name, deadline_s=20):
    """Waits until the server on `port` answers PING; exits if it dies or takes over
    `deadline_s` seconds (loading a large database takes longer than starting)."""
    deadline = time.time() + deadline_s
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


def stop(*procs, timeout=20):
    """Stops servers as an operator would: SIGTERM to all, then a kill for any still running
    after `timeout` seconds."""
    for proc in procs:
        proc.send_signal(signal.SIGTERM)
    for proc in procs:
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def cpu_seconds(pid):
    """User + system CPU seconds the process has used so far."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def bench(port, command, clients, requests, pipeline, keyspace, pid=None):
    """One redis-benchmark run: requests per second and p50/p99 latency, and when `pid` is given
    the CPU microseconds per request that process used meanwhile."""
    args = ["redis-benchmark", "-h", "127.0.0.1", "-p", str(port), "-c", str(clients),
            "-n", str(requests), "-r", str(keyspace), "-P", str(pipeline), "--csv"] + command
    before = cpu_seconds(pid) if pid else 0
    out = subprocess.run(args, check=True, capture_output=True, text=True).stdout
    rows = list(csv.DictReader(io.StringIO(out)))
    if not rows:
        sys.exit(f"redis-benchmark printed no result for {' '.join(command)}:\n{out}")
    row = rows[-1]
    result = {k: float(row[k]) for k in ("rps", "p50_latency_ms", "p99_latency_ms")}
    if pid:
        result["cpu_us"] = (cpu_seconds(pid) - before) * 1e6 / requests
    return result


def median_run(runs):
    runs = sorted(runs, key=lambda r: r["rps"])
    return runs[len(runs) // 2]


def start(name, argv, port):
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL)
    wait_port(port, proc, name)
    return {"name": name, "port": port, "proc": proc}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--usld", default="target/release/usld")
    ap.add_argument("--shards", type=int, default=os.cpu_count() or 1, help="usld --shards of the second usld")
    ap.add_argument("--clients", type=int, default=50)
    ap.add_argument("--requests", type=int, default=200_000)
    ap.add_argument("--keyspace", type=int, default=100_000)
    ap.add_argument("--pipelines", default="1,16")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--no-pin", action="store_true",
                    help="start usld with --no-pin (shards not pinned to cores)")
    ap.add_argument("--persistence", action="store_true",
                    help="compare usld --db with Redis's append-only file instead")
    opts = ap.parse_args()
    if opts.persistence:
        from compare_persistence import run_persistence
        run_persistence(opts)
        return
    pin_flags = ["--no-pin"] if opts.no_pin else []

    servers = []
    try:
        for shards in sorted({1, opts.shards}):
            port = free_port()
            name = " ".join([f"usld --shards {shards}", *pin_flags])
            servers.append(start(name, [opts.usld, "--bind", "127.0.0.1", "--tcp-port", str(port),
                                        "--no-ws", "--shards", str(shards), "--log-level", "warn",
                                        *pin_flags], port))
        port = free_port()
        servers.append(start("Redis", ["redis-server", "--port", str(port), "--bind", "127.0.0.1",
                                       "--save", "", "--appendonly", "no"], port))
        redis_version = subprocess.run(["redis-server", "--version"], capture_output=True,
                                       text=True).stdout.split()[2]
        rows = []
        for pipeline in [int(p) for p in opts.pipelines.split(",")]:
            for name, usld_cmd, redis_cmd in WORKLOADS:
                runs = {s["name"]: [] for s in servers}
                for _ in range(opts.rounds):
                    for server in servers:
                        command = redis_cmd if server["name"] == "Redis" else usld_cmd
                        runs[server["name"]].append(
                            bench(server["port"], command, opts.clients, opts.requests, pipeline,
                                  opts.keyspace, server["proc"].pid))
                medians = {k: median_run(v) for k, v in runs.items()}
                rows.append((usld_cmd[0], redis_cmd[0], pipeline, medians))
                summary = ", ".join(f"{k} {v['rps']:.0f}/s" for k, v in medians.items())
                print(f"# {name} P={pipeline}: {summary}", file=sys.stderr)
    finally:
        stop(*(server["proc"] for server in servers))

    names = [s["name"] for s in servers]
    usld_names = [n for n in names if n != "Redis"]
    print(f"{' and '.join(usld_names)} vs Redis {redis_version}; redis-benchmark -c {opts.clients} "
          f"-n {opts.requests} -r {opts.keyspace}; median of {opts.rounds} alternating rounds; "
          f"{os.cpu_count()} cores shared by the servers and the load generator.\n")
    header = ["workload", "P"]
    for n in names:
        header += [f"{n} req/s", f"{n} p50 / p99 ms", f"{n} CPU µs/req"]
    header += [f"{n} / Redis" for n in usld_names]
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * 2 + "---:|" * (len(header) - 2))
    for ucmd, rcmd, pipeline, medians in rows:
        cells = [f"{ucmd} vs {rcmd}", str(pipeline)]
        for n in names:
            m = medians[n]
            cells += [f"{m['rps']:,.0f}", f"{m['p50_latency_ms']:.3f} / {m['p99_latency_ms']:.3f}",
                      f"{m['cpu_us']:.1f}"]
        cells += [f"{medians[n]['rps'] / medians['Redis']['rps']:.2f}" for n in usld_names]
        print("| " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
