#!/usr/bin/env python3
"""Counts starts of a many-shard usld, on cores kept busy by other processes, in which a client
waits for a reply that does not come.

This reproduces the stall that the vendored glommio's fifth change fixes (vendor/README.md): a
shard parked with runnable work, and its first clients sat in its listener's queue until another
shard's message woke it. It needs many shards per core and cores busy with other threads, so
that a shard thread waits longer than glommio's preemption timer for a core; it is a check to
run by hand, minutes long, not a test.

    python3 bench/stall_check.py --usld target/release/usld --runs 40
    python3 bench/stall_check.py --usld old/usld --usld target/release/usld   # A/B, alternating

Each run starts `usld --shards N`, waits until it says it is ready, then opens `--clients`
connections one after another, each sending PING and waiting up to `--wait` seconds for the
reply. A run in which any reply does not come is a stalled run.
"""

import argparse
import os
import socket
import subprocess
import threading


def first_free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start(usld, shards):
    """Starts usld on a free port and returns (process, port) once it logs that it is ready."""
    port = first_free_port()
    proc = subprocess.Popen(
        [usld, "--tcp-port", str(port), "--no-ws", "--log-level", "info", "--shards", str(shards)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    for line in proc.stderr:
        if "ready to accept connections" in line:
            # Keep reading, so that a full pipe never blocks the server's logging.
            threading.Thread(target=proc.stderr.read, daemon=True).start()
            return proc, port
    raise SystemExit(f"{usld} exited before it was ready (status {proc.wait()})")


def stalls(port, clients, wait):
    """True when one of `clients` fresh connections gets no reply to PING within `wait` s."""
    for _ in range(clients):
        with socket.create_connection(("127.0.0.1", port)) as s:
            s.settimeout(wait)
            s.sendall(b"PING\r\n")
            try:
                if not s.recv(64):
                    return True
            except socket.timeout:
                return True
    return False


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--usld", action="append", help="server binary; twice to compare two")
    parser.add_argument("--runs", type=int, default=40, help="starts of each binary")
    parser.add_argument("--shards", type=int, default=32)
    parser.add_argument("--hogs", type=int, default=os.cpu_count() or 1,
                        help="busy processes beside the server (default: one per CPU)")
    parser.add_argument("--clients", type=int, default=100, help="connections per run")
    parser.add_argument("--wait", type=float, default=10.0, help="seconds a reply may take")
    args = parser.parse_args()
    binaries = args.usld or ["target/release/usld"]

    hogs = [subprocess.Popen(["yes"], stdout=subprocess.DEVNULL) for _ in range(args.hogs)]
    stalled = {b: 0 for b in binaries}
    try:
        for run in range(1, args.runs + 1):
            for usld in binaries:
                proc, port = start(usld, args.shards)
                try:
                    stalled[usld] += stalls(port, args.clients, args.wait)
                finally:
                    proc.terminate()
                    proc.wait()
            counts = ", ".join(f"{b}: {n} of {run}" for b, n in stalled.items())
            print(f"stalled runs: {counts}", flush=True)
    finally:
        for hog in hogs:
            hog.kill()


if __name__ == "__main__":
    main()
