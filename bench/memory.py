#!/usr/bin/env python3
"""Bytes per document: loads N small documents (one short field each) of every strategy into a
fresh usld, and the same keys as one-field hashes (HSET) into a fresh redis-server, and reports
the memory each server grew by, divided by N.

  bench/memory.py --usld target/release/usld [--documents 1000000] [--shards 1]

usld reports its resident set (from /proc/self/statm) as both used_memory and used_memory_rss;
Redis's used_memory is its allocator's count of live bytes, used_memory_rss its resident set. The
ratio compares resident sets, which both servers measure the same way. Each strategy loads into its own
fresh server, so one strategy's leftovers never count against another.
"""
import argparse
import os
import socket
import subprocess
import sys
import time

from compare_redis import free_port, stop, wait_port

BATCH = 10_000


def connect(port, proc, name):
    wait_port(port, proc, name)
    return socket.create_connection(("127.0.0.1", port), timeout=60)


def resp(*args):
    out = [b"*%d\r\n" % len(args)]
    for arg in args:
        arg = arg if isinstance(arg, bytes) else str(arg).encode()
        out.append(b"$%d\r\n%s\r\n" % (len(arg), arg))
    return b"".join(out)


def pipeline(sock, commands):
    """Sends commands in batches and reads one single-line reply per command."""
    for start in range(0, len(commands), BATCH):
        chunk = commands[start:start + BATCH]
        sock.sendall(b"".join(chunk))
        want, got, buf = len(chunk), 0, b""
        while got < want:
            data = sock.recv(1 << 20)
            if not data:
                sys.exit("server closed the connection")
            buf += data
            lines = buf.split(b"\r\n")
            buf = lines.pop()
            for line in lines:
                if line.startswith(b"-"):
                    sys.exit(f"error reply: {line!r}")
            got += len(lines)


def info_memory(sock):
    sock.sendall(b"INFO memory\r\n")
    buf = b""
    while True:
        buf += sock.recv(1 << 16)
        if b"\r\n" in buf:
            header, rest = buf.split(b"\r\n", 1)
            length = int(header[1:])
            if len(rest) >= length + 2:
                text = rest[:length].decode()
                break
    fields = dict(line.split(":", 1) for line in text.splitlines() if ":" in line)
    return int(fields["used_memory"]), int(fields["used_memory_rss"])


def load_commands(kind, n):
    key = "doc:%07d"
    if kind == "redis":
        return [resp("HSET", key % i, "name", "Alice") for i in range(n)]
    if kind == "lww":
        return [resp("SET", key % i, "name", "Alice") for i in range(n)]
    commands = [resp("CREATE", key % i, "STRATEGY", kind) for i in range(n)]
    if kind == "crdt-counter":
        commands += [resp("INC", key % i, "count", 1) for i in range(n)]
    elif kind == "crdt-set":
        commands += [resp("PUSH", key % i, "tags", "Alice") for i in range(n)]
    elif kind == "crdt-text":
        commands += [resp("SET", key % i, "name", '"Alice"') for i in range(n)]
    else:
        commands += [resp("SET", key % i, "name", "Alice") for i in range(n)]
    return commands


def measure(kind, opts):
    port = free_port()
    if kind == "redis":
        cmd = ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
               "--appendonly", "no"]
    else:
        cmd = [opts.usld, "--bind", "127.0.0.1", "--tcp-port", str(port), "--no-ws",
               "--shards", str(opts.shards), "--log-level", "warn"]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL)
    try:
        sock = connect(port, proc, cmd[0])
        before = info_memory(sock)
        pipeline(sock, load_commands(kind, opts.documents))
        time.sleep(0.5)
        after = info_memory(sock)
        sock.close()
    finally:
        stop(proc)
    used, rss = ((a - b) / opts.documents for a, b in zip(after, before))
    return used, rss


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--usld", default="target/release/usld")
    ap.add_argument("--documents", type=int, default=1_000_000)
    ap.add_argument("--shards", type=int, default=1)
    ap.add_argument("--kinds", default="redis,lww,crdt-map,crdt-counter,crdt-set,crdt-text")
    opts = ap.parse_args()
    rows = []
    for kind in opts.kinds.split(","):
        used, rss = measure(kind, opts)
        rows.append((kind, used, rss))
        print(f"# {kind}: {used:.1f} allocated bytes/doc, {rss:.1f} RSS bytes/doc", file=sys.stderr)
    redis = next((r for r in rows if r[0] == "redis"), None)
    print(f"{opts.documents:,} documents, one short field each (`name`: `Alice`; sets: one element; "
          f"counters: one field; text: one text field); usld --shards {opts.shards}; {os.cpu_count()} cores. Growth of "
          f"INFO memory's used_memory and used_memory_rss over the load, per document (usld's "
          f"used_memory is its RSS).\n")
    print("| store | used_memory bytes/doc | RSS bytes/doc | RSS vs Redis RSS |")
    print("|---|---:|---:|---:|")
    for kind, used, rss in rows:
        ratio = f"{rss / redis[2]:.2f}" if redis else "-"
        name = "Redis HSET" if kind == "redis" else f"usld {kind}"
        print(f"| {name} | {used:.0f} | {rss:.0f} | {ratio} |")

if __name__ == "__main__":
    main()
