#!/usr/bin/env python3
"""The `usld bench` figures of bench/RESULTS.md, reproducible in one command.

  generator   usld bench vs redis-benchmark, same redis-server, same load (HSET / HGETALL on
              random keys, 50 clients, pipeline 1 and 16), alternating A/B per round: is the
              generator fast enough not to be the bottleneck?
  seed-loads  the seed README's light (10 x 1,000) and heavy (50 x 2,000) loads, all five seed
              tests, against usld and against Redis (`--target redis`), alternating per round.
  fanout      one writer, --subscribers subscribers of `bench:sub:*` (spread by the kernel over
              all of usld's shards): usld SET events against Redis PUBLISH to PSUBSCRIBE clients,
              deliveries per second and write-to-delivery latency, alternating per round; once
              with the writer as fast as each server acknowledges (throughput), once paced at
              --rate writes per second (latency at a load both servers sustain).

Both print Markdown tables. Run from the repository root after `cargo build --release --bin usld`.
"""

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys

from compare_redis import free_port, stop, wait_port

SEED_TESTS = ["conn", "set", "get", "inc", "mixed"]
# The seed README's published figures (Docker on Windows/WSL2), for reference only: throughput and
# average latency, per load and test.
SEED_FIGURES = {
    (10, 1000): {"conn": "1,796 conn/s, 557 µs", "set": "9,417, 1,042 µs", "get": "88,973, 76 µs",
                 "inc": "10,655, 925 µs", "mixed": "15,265, 566 µs"},
    (50, 2000): {"conn": "2,764 conn/s, 362 µs", "set": "12,710, 3.9 ms", "get": "225,791, 189 µs",
                 "inc": "25,255, 1.9 ms", "mixed": "10,090, 4 ms"},
}


def start_redis():
    port = free_port()
    proc = subprocess.Popen(["redis-server", "--port", str(port), "--bind", "127.0.0.1",
                             "--save", "", "--appendonly", "no"], stdout=subprocess.DEVNULL)
    wait_port(port, proc, "redis-server")
    return port, proc


def start_usld(usld, *extra):
    port = free_port()
    proc = subprocess.Popen([usld, "--bind", "127.0.0.1", "--tcp-port", str(port), "--no-ws",
                             "--log-level", "warn", *extra], stdout=subprocess.DEVNULL)
    wait_port(port, proc, "usld")
    return port, proc


def cpu_seconds():
    """User + system CPU time of the children waited for so far."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def usld_bench(usld, port, args):
    out = subprocess.run([usld, "bench", "-p", str(port), "--json", *args],
                         capture_output=True, text=True)
    if out.returncode not in (0, 1):
        sys.exit(f"usld bench failed: {out.stderr}")
    return {t["test"]: t for t in json.loads(out.stdout)["tests"]}


def redis_benchmark(port, clients, requests, pipeline, keyspace, command):
    """Requests per second, and the client's CPU microseconds per request."""
    before = cpu_seconds()
    out = subprocess.run(["redis-benchmark", "-p", str(port), "-c", str(clients), "-n", str(requests),
                          "-P", str(pipeline), "-r", str(keyspace), "--csv", *command],
                         capture_output=True, text=True, check=True)
    cpu = cpu_seconds() - before
    row = out.stdout.strip().splitlines()[-1]
    return float(row.split(",")[1].strip('"')), cpu * 1e6 / requests


def generator(args):
    port, redis = start_redis()
    try:
        rows = []
        commands = {"set": ["HSET", "bench:__rand_int__", "value", "xxx"],
                    "get": ["HGETALL", "bench:__rand_int__"]}
        for pipeline in (1, 16):
            ours = {"set": [], "get": []}
            theirs = {"set": [], "get": []}
            ops = args.requests // 50
            for _ in range(args.rounds):
                # One test per usld bench run, so its CPU time is that test's alone.
                for test in ("set", "get"):
                    before = cpu_seconds()
                    result = usld_bench(args.usld, port, ["--target", "redis", "-c", "50", "-n", str(ops),
                                                          "-P", str(pipeline), "--tests", test,
                                                          "--keyspace", "10000"])
                    cpu = (cpu_seconds() - before) * 1e6 / (ops * 50)
                    ours[test].append((result[test]["throughput"], cpu))
                    theirs[test].append(redis_benchmark(port, 50, args.requests, pipeline, 10000,
                                                        commands[test]))
            for test in ("set", "get"):
                a, b = (statistics.median(r for r, _ in runs[test]) for runs in (ours, theirs))
                ca, cb = (statistics.median(c for _, c in runs[test]) for runs in (ours, theirs))
                rows.append(f"| {commands[test][0]} | {pipeline} | {a:,.0f} | {b:,.0f} | {a / b:.2f} "
                            f"| {ca:.2f} | {cb:.2f} |")
        print("| command | pipeline | usld bench (ops/s) | redis-benchmark (ops/s) | ratio "
              "| usld bench CPU µs/op | redis-benchmark CPU µs/op |")
        print("|---|---:|---:|---:|---:|---:|---:|")
        print("\n".join(rows))
    finally:
        stop(redis)


def seed_loads(args):
    redis_port, redis = start_redis()
    usld_port, usld = start_usld(args.usld)
    try:
        for clients, ops, title in ((10, 1000, "Light load: 10 clients x 1,000 ops"),
                                    (50, 2000, "Heavy load: 50 clients x 2,000 ops")):
            runs = {"usld": [], "redis": []}
            for _ in range(args.rounds):
                common = ["-c", str(clients), "-n", str(ops), "--tests", ",".join(SEED_TESTS)]
                runs["usld"].append(usld_bench(args.usld, usld_port, common))
                runs["redis"].append(usld_bench(args.usld, redis_port, ["--target", "redis", *common]))
            print(f"\n#### {title}\n")
            print("| test | seed README (ops/s, avg) | usld (ops/s) | usld avg / p50 / p99 / p99.9 / max (µs) "
                  "| usld failed | Redis (ops/s) | Redis avg / p50 / p99 / p99.9 / max (µs) | Redis failed "
                  "| usld / Redis |")
            print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
            for test in SEED_TESTS:
                cells = [SEED_FIGURES[(clients, ops)][test]]
                rates = {}
                for target in ("usld", "redis"):
                    best = sorted(runs[target], key=lambda r: r[test]["throughput"])[len(runs[target]) // 2]
                    t = best[test]
                    lat = t["latency_us"] or {}
                    rates[target] = t["throughput"]
                    cells += [f"{t['throughput']:,.0f}",
                              " / ".join(f"{lat.get(q, 0):,.0f}" for q in ("avg", "p50", "p99", "p99_9", "max")),
                              str(sum(r[test]["failed"] for r in runs[target]))]
                ratio = rates["usld"] / rates["redis"] if rates["redis"] else 0
                print(f"| {test} | " + " | ".join(cells) + f" | {ratio:.2f} |")
    finally:
        stop(usld, redis)


def fanout(args):
    redis_port, redis = start_redis()
    servers = [(f"usld {flags}", *start_usld(args.usld, *flags.split())) for flags in args.servers]
    try:
        for rate in (None, args.rate):
            fanout_table(args, rate, servers, redis_port)
    finally:
        stop(redis, *(proc for _, _, proc in servers))


def fanout_table(args, rate, servers, redis_port):
    """One table: runs against each server in turn, per round, the publisher unpaced or at `rate`."""
    common = ["-c", str(args.subscribers), "-n", str(args.messages), "--tests", "sub",
              "--timeout", "120"]
    if rate:
        common += ["--rate", str(rate)]
    targets = [(name, port, []) for name, port, _ in servers]
    targets.append(("Redis", redis_port, ["--target", "redis"]))
    if rate is None:
        # Unmeasured warm-up: the first fan-out run after a server starts (Redis as much as usld)
        # stalls for 0.3-0.6 s after its first message, and later runs do not.
        for _, port, extra in targets:
            usld_bench(args.usld, port, [*extra, *common[:2], "-n", "20", *common[4:]])
    runs = {name: [] for name, _, _ in targets}
    for _ in range(args.rounds):
        for name, port, extra in targets:
            runs[name].append(usld_bench(args.usld, port, [*extra, *common])["sub"])
    pace = f"{rate:g} writes/s" if rate else "as fast as acknowledged"
    print(f"\nPublisher: {pace}, {args.messages} writes, {args.subscribers} subscribers "
          f"({args.rounds} rounds, medians)\n")
    print("| server | deliveries/s | p50 µs | p99 µs | p99.9 µs | max µs | failed | deliveries / Redis | p50 / Redis | p99 / Redis |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    medians = {}
    for name, _, _ in targets:
        median = {"throughput": statistics.median(t["throughput"] for t in runs[name])}
        for q in ("p50", "p99", "p99_9", "max"):
            median[q] = statistics.median((t["latency_us"] or {}).get(q, 0) for t in runs[name])
        median["failed"] = sum(t["failed"] for t in runs[name])
        medians[name] = median
    redis = medians["Redis"]
    for name, _, _ in targets:
        m = medians[name]
        print(f"| {name} | {m['throughput']:,.0f} | "
              + " | ".join(f"{m[q]:,.0f}" for q in ("p50", "p99", "p99_9", "max"))
              + f" | {m['failed']} | {m['throughput'] / redis['throughput']:.2f} | "
              f"{m['p50'] / redis['p50']:.2f} | {m['p99'] / redis['p99']:.2f} |")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("mode", choices=["generator", "seed-loads", "fanout"])
    parser.add_argument("--usld", default=os.path.join("target", "release", "usld"))
    parser.add_argument("--rounds", type=int, default=3, help="alternating rounds; medians are shown")
    parser.add_argument("--requests", type=int, default=200000, help="generator mode: requests per run")
    parser.add_argument("--subscribers", type=int, default=1000, help="fanout mode: subscribers")
    parser.add_argument("--messages", type=int, default=200, help="fanout mode: writes (each reaches every subscriber)")
    parser.add_argument("--servers", type=lambda text: text.split(","),
                        default=["--shards 1", "--shards 2", "--shards 2 --no-pin"],
                        help="fanout mode: the usld servers to run, as their flags, comma-separated "
                             "(default: '--shards 1,--shards 2,--shards 2 --no-pin')")
    parser.add_argument("--rate", type=float, default=100,
                        help="fanout mode: the paced table's writes per second (the other table is unpaced)")
    args = parser.parse_args()
    {"generator": generator, "seed-loads": seed_loads, "fanout": fanout}[args.mode](args)


if __name__ == "__main__":
    main()
