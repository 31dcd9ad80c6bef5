#!/usr/bin/env python3
"""Runs the same redis-benchmark load against usld and redis-server, alternating A/B, and prints a
Markdown table of throughput, p50/p99 latency and the usld/Redis ratios.

With --persistence it compares durable writes instead: usld in memory, usld --db (default sync:
survives a killed process) and usld --db --fsync (survives power loss) against redis-server with
appendonly yes and appendfsync everysec and always, on SET, INC and a mixed load (40% SET, 40%
GET, 20% INC: three redis-benchmark processes at once, clients and requests split 2:2:1).

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


def wait_port(port, proc, name, deadline_s=20):
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


def bench(port, command, clients, requests, pipeline, keyspace):
    args = ["redis-benchmark", "-h", "127.0.0.1", "-p", str(port), "-c", str(clients),
            "-n", str(requests), "-r", str(keyspace), "-P", str(pipeline), "--csv"] + command
    out = subprocess.run(args, check=True, capture_output=True, text=True).stdout
    rows = list(csv.DictReader(io.StringIO(out)))
    if not rows:
        sys.exit(f"redis-benchmark printed no result for {' '.join(command)}:\n{out}")
    row = rows[-1]
    return {k: float(row[k]) for k in ("rps", "p50_latency_ms", "p99_latency_ms")}


def bench_mixed(port, commands, clients, requests, pipeline, keyspace):
    """The mixed load: SET, GET and INC processes at once; throughput is every request over the
    wall time of the slowest, latencies the worst of the three."""
    shares = [2, 2, 1]
    procs = []
    start = time.time()
    for share, command in zip(shares, commands):
        n_clients = max(1, clients * share // sum(shares))
        n_requests = requests * share // sum(shares)
        args = ["redis-benchmark", "-h", "127.0.0.1", "-p", str(port), "-c", str(n_clients),
                "-n", str(n_requests), "-r", str(keyspace), "-P", str(pipeline), "--csv"] + command
        procs.append((n_requests, subprocess.Popen(args, stdout=subprocess.PIPE, text=True)))
    results = []
    for n_requests, proc in procs:
        out, _ = proc.communicate()
        rows = list(csv.DictReader(io.StringIO(out)))
        if proc.returncode != 0 or not rows:
            sys.exit(f"redis-benchmark failed in the mixed load:\n{out}")
        results.append((n_requests, rows[-1]))
    elapsed = time.time() - start
    total = sum(n for n, _ in results)
    return {"rps": total / elapsed,
            "p50_latency_ms": max(float(r["p50_latency_ms"]) for _, r in results),
            "p99_latency_ms": max(float(r["p99_latency_ms"]) for _, r in results)}


def median_run(runs):
    runs = sorted(runs, key=lambda r: r["rps"])
    return runs[len(runs) // 2]


# The persistence comparison: (name, server kind, extra arguments).
PERSISTENCE_SERVERS = [
    ("usld memory", "usld", []),
    ("usld --db", "usld", ["--db"]),
    ("usld --db --fsync", "usld", ["--db", "--fsync"]),
    ("Redis AOF everysec", "redis", ["--appendonly", "yes", "--appendfsync", "everysec"]),
    ("Redis AOF always", "redis", ["--appendonly", "yes", "--appendfsync", "always"]),
]

# The persistence workloads: usld commands and Redis commands; the mixed load runs all three.
PERSISTENCE_WORKLOADS = ["SET", "INC", "mixed"]


def start_server(kind, extra, opts, data_dir):
    port = free_port()
    if kind == "usld":
        args = [opts.usld, "--bind", "127.0.0.1", "--tcp-port", str(port), "--no-ws",
                "--shards", str(opts.shards), "--log-level", "warn"]
        if extra:
            args += ["--db", os.path.join(data_dir, "data.db")] + extra[1:]
        proc = subprocess.Popen(args)
    else:
        proc = subprocess.Popen(["redis-server", "--port", str(port), "--bind", "127.0.0.1",
                                 "--save", "", "--dir", data_dir] + extra, stdout=subprocess.DEVNULL)
    wait_port(port, proc, kind)
    return port, proc


def run_persistence(opts):
    import tempfile
    pipelines = [int(p) for p in opts.pipelines.split(",")]
    servers = []
    with tempfile.TemporaryDirectory(prefix="ussl-bench-") as root:
        try:
            for i, (name, kind, extra) in enumerate(PERSISTENCE_SERVERS):
                data_dir = os.path.join(root, str(i))
                os.mkdir(data_dir)
                port, proc = start_server(kind, extra, opts, data_dir)
                servers.append((name, kind, port, proc))
            results = {}
            for pipeline in pipelines:
                for workload in PERSISTENCE_WORKLOADS:
                    runs = {name: [] for name, *_ in servers}
                    for _ in range(opts.rounds):
                        for name, kind, port, _ in servers:
                            usld_cmds = [cmd for _, cmd, _ in WORKLOADS]
                            redis_cmds = [cmd for _, _, cmd in WORKLOADS]
                            cmds = usld_cmds if kind == "usld" else redis_cmds
                            if workload == "mixed":
                                result = bench_mixed(port, cmds, opts.clients, opts.requests,
                                                     pipeline, opts.keyspace)
                            else:
                                command = cmds[[w for w, _, _ in WORKLOADS].index(workload)]
                                result = bench(port, command, opts.clients, opts.requests,
                                               pipeline, opts.keyspace)
                            runs[name].append(result)
                    results[(workload, pipeline)] = {name: median_run(r) for name, r in runs.items()}
                    line = ", ".join(f"{name} {r['rps']:.0f}/s" for name, r in results[(workload, pipeline)].items())
                    print(f"# {workload} P={pipeline}: {line}", file=sys.stderr)
        finally:
            for *_, proc in servers:
                proc.send_signal(signal.SIGTERM)
            for *_, proc in servers:
                try:
                    proc.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    proc.kill()
    redis_version = subprocess.run(["redis-server", "--version"], capture_output=True, text=True).stdout.split()[2]
    print(f"usld --shards {opts.shards} vs {redis_version}; redis-benchmark -c {opts.clients} "
          f"-n {opts.requests} -r {opts.keyspace}; median of {opts.rounds} rounds, the five servers "
          f"alternating; {os.cpu_count()} cores shared by servers and load generator.\n")
    names = [name for name, *_ in PERSISTENCE_SERVERS]
    print("| workload | pipeline | " + " | ".join(f"{n} req/s" for n in names) +
          " | --db / AOF everysec | --db --fsync / AOF always |")
    print("|---|---:|" + "---:|" * (len(names) + 2))
    for (workload, pipeline), by_name in results.items():
        cells = " | ".join(f"{by_name[n]['rps']:,.0f}" for n in names)
        ratio_default = by_name["usld --db"]["rps"] / by_name["Redis AOF everysec"]["rps"]
        ratio_fsync = by_name["usld --db --fsync"]["rps"] / by_name["Redis AOF always"]["rps"]
        print(f"| {workload} | {pipeline} | {cells} | {ratio_default:.2f} | {ratio_fsync:.2f} |")
    print("\np50 / p99 latency, ms:\n")
    print("| workload | pipeline | " + " | ".join(names) + " |")
    print("|---|---:|" + "---:|" * len(names))
    for (workload, pipeline), by_name in results.items():
        cells = " | ".join(f"{by_name[n]['p50_latency_ms']:.3f} / {by_name[n]['p99_latency_ms']:.3f}" for n in names)
        print(f"| {workload} | {pipeline} | {cells} |")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--usld", default="target/release/usld")
    ap.add_argument("--shards", type=int, default=os.cpu_count() or 1, help="usld --shards")
    ap.add_argument("--clients", type=int, default=50)
    ap.add_argument("--requests", type=int, default=200_000)
    ap.add_argument("--keyspace", type=int, default=100_000)
    ap.add_argument("--pipelines", default="1,16")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--persistence", action="store_true",
                    help="compare usld --db with Redis's append-only file instead")
    opts = ap.parse_args()
    if opts.persistence:
        run_persistence(opts)
        return

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
