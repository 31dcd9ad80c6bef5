#!/usr/bin/env python3
"""The persistence comparison behind `bench/compare-redis.sh --persistence`: durable writes of usld
and Redis under the same redis-benchmark load, in one run, alternating.

usld in memory, usld --db (default sync: survives a killed process) and usld --db --fsync
(survives power loss) against redis-server with appendonly yes and appendfsync everysec and
always, on SET, INC and a mixed load (40% SET, 40% GET, 20% INC: three redis-benchmark processes
at once, clients and requests split 2:2:1). The commands and options are compare_redis.py's.
"""
import os
import subprocess
import sys
import time
import csv
import io

from compare_redis import WORKLOADS, bench, free_port, median_run, stop, wait_port


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
            stop(*(proc for *_, proc in servers), timeout=30)
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


