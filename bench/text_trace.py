#!/usr/bin/env python3
"""Text editing through the server: replays a recorded editing trace (by default the
automerge-paper trace, 259,778 edits) as pipelined SPLICE commands against a real usld, checks
the final text against the trace's endContent, and reports edits per second.

  bench/text_trace.py --usld target/release/usld [--trace shards/tests/data/automerge-paper.json.gz]
                      [--window 4096] [--rounds 3] [--shards 1]

The client writes the commands in chunks of --window while a second thread drains the replies,
so the server always has a full pipeline. Each round runs against a fresh document; the median round is
reported. Compare with the native rate: cargo run --release -p ussl-shards --example text_native.
"""
import argparse
import gzip
import json
import os
import socket
import statistics
import subprocess
import sys
import threading
import time

from compare_redis import free_port, stop, wait_port
from memory import resp


def load(path):
    with gzip.open(path) as f:
        trace = json.load(f)
    patches = [p for txn in trace["txns"] for p in txn["patches"]]
    return trace.get("startContent", ""), trace["endContent"], patches


def read_reply_lines(sock, count, errors):
    """Reads `count` single-line replies (`:n`), recording any error line."""
    buf, got = b"", 0
    while got < count:
        data = sock.recv(1 << 20)
        if not data:
            errors.append("connection closed")
            return
        buf += data
        lines = buf.split(b"\r\n")
        buf = lines.pop()
        for line in lines:
            if line.startswith(b"-") and len(errors) < 5:
                errors.append(line.decode(errors="replace"))
        got += len(lines)


def get_text(sock, doc):
    sock.sendall(resp("GET", doc, "PATH", "content"))
    buf = b""
    while b"\r\n" not in buf:
        buf += sock.recv(1 << 20)
    header, rest = buf.split(b"\r\n", 1)
    length = int(header[1:])
    while len(rest) < length + 2:
        rest += sock.recv(1 << 20)
    return json.loads(rest[:length])


def run_round(port, doc, start, patches, window):
    sock = socket.create_connection(("127.0.0.1", port))
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    setup = [resp("CREATE", doc, "STRATEGY", "crdt-text")]
    if start:
        setup.append(resp("SET", doc, "content", json.dumps(start)))
    sock.sendall(b"".join(setup))
    errors = []
    read_reply_lines(sock, len(setup), errors)
    commands = [resp("SPLICE", doc, "content", pos, deleted, inserted)
                for pos, deleted, inserted in patches]
    errors = []
    reader = threading.Thread(target=read_reply_lines, args=(sock, len(commands), errors))
    began = time.perf_counter()
    reader.start()
    # The reader drains replies as they come, so writing everything at once never stalls both
    # sides; the kernel's socket buffers bound what is in flight.
    for i in range(0, len(commands), window):
        sock.sendall(b"".join(commands[i:i + window]))
    reader.join()
    elapsed = time.perf_counter() - began
    text = get_text(sock, doc)
    sock.close()
    return elapsed, text, errors


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--usld", default="target/release/usld")
    ap.add_argument("--trace", default="shards/tests/data/automerge-paper.json.gz")
    ap.add_argument("--window", type=int, default=4096)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--shards", type=int, default=1)
    opts = ap.parse_args()
    start, end, patches = load(opts.trace)
    port = free_port()
    usld = subprocess.Popen([opts.usld, "--bind", "127.0.0.1", "--tcp-port", str(port), "--no-ws",
                             "--shards", str(opts.shards), "--log-level", "warn"])
    try:
        wait_port(port, usld, "usld")
        times = []
        for round_ in range(opts.rounds):
            elapsed, text, errors = run_round(port, f"trace:{round_}", start, patches, opts.window)
            if errors:
                sys.exit(f"round {round_}: error replies: {errors}")
            if text != end:
                sys.exit(f"round {round_}: final text differs from endContent "
                         f"({len(text)} vs {len(end)} characters)")
            times.append(elapsed)
            print(f"# round {round_}: {len(patches) / elapsed:,.0f} edits/s ({elapsed:.2f} s), "
                  f"text matches endContent", file=sys.stderr)
    finally:
        stop(usld)
    median = statistics.median(times)
    print(f"{os.path.basename(opts.trace)}: {len(patches):,} SPLICE commands, pipelined "
          f"(window {opts.window}), usld --shards {opts.shards}; median of {opts.rounds} rounds: "
          f"{len(patches) / median:,.0f} edits/s ({median:.2f} s); final text equals endContent.")


if __name__ == "__main__":
    main()
