#!/usr/bin/env python3
"""Measures usld --db: bytes written per write, and restart time.

  bench/persistence.py bytes     one-field SETs on a 100-byte and on a 1 MB document: the bytes
                                 usld writes per SET (from /proc/<pid>/io wchar, the bytes passed
                                 to write calls, less the replies sent to the client), alone and
                                 pipelined, over enough writes to include folding the updates of
                                 the big document into new snapshots.
  bench/persistence.py restart   loads N small documents (1,000,000 by default), then restarts
                                 usld on them after a clean stop and after SIGKILL, and times each
                                 restart from launch to the first PONG.

Both print Markdown tables; run from the repository root after `cargo build --release`.
"""
import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time

from compare_redis import free_port, stop, wait_port

REPLY_OK = b"+OK\r\n"


def start(usld, db, shards, port, extra=()):
    return subprocess.Popen([usld, "--bind", "127.0.0.1", "--tcp-port", str(port), "--no-ws",
                             "--shards", str(shards), "--log-level", "warn", "--db", db, *extra])


def resp(*args):
    out = b"*%d\r\n" % len(args)
    for arg in args:
        arg = arg if isinstance(arg, bytes) else str(arg).encode()
        out += b"$%d\r\n%s\r\n" % (len(arg), arg)
    return out


class Conn:
    def __init__(self, port):
        self.sock = socket.create_connection(("127.0.0.1", port))
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buf = b""

    def send(self, data):
        self.sock.sendall(data)

    def read_lines(self, count):
        """Reads `count` one-line replies; fails on an error reply."""
        lines = []
        while len(lines) < count:
            while b"\r\n" not in self.buf:
                chunk = self.sock.recv(1 << 20)
                if not chunk:
                    sys.exit("connection closed")
                self.buf += chunk
            line, self.buf = self.buf.split(b"\r\n", 1)
            if line.startswith(b"-"):
                sys.exit(f"error reply: {line.decode()}")
            lines.append(line)
        return lines


def wchar(pid):
    with open(f"/proc/{pid}/io") as f:
        for line in f:
            if line.startswith("wchar:"):
                return int(line.split()[1])
    return 0


def measure_bytes(usld, doc_bytes, writes, pipeline, rewrite_min):
    """Bytes usld writes per one-field SET on a document of about `doc_bytes` bytes, and how
    many log rewrites happened meanwhile."""
    with tempfile.TemporaryDirectory(prefix="ussl-bytes-") as root:
        port = free_port()
        extra = ["--db-rewrite-min-bytes", str(rewrite_min)] if rewrite_min else []
        proc = start(usld, os.path.join(root, "data.db"), 1, port, extra)
        try:
            wait_port(port, proc, "usld", deadline_s=600)
            c = Conn(port)
            # The document: one field holding a map of 100-byte members, written in one SET.
            members = max(1, doc_bytes // 100)
            body = "{" + ", ".join(f'"k{i:06d}": "{"v" * 86}"' for i in range(members)) + "}"
            c.send(resp("SET", "doc", "body", body))
            c.read_lines(1)
            time.sleep(1.0)  # let the writer fold the first update into a snapshot
            before = wchar(proc.pid)
            sent = 0
            while sent < writes:
                n = min(pipeline, writes - sent)
                c.send(b"".join(resp("SET", "doc", "n", sent + i) for i in range(n)))
                c.read_lines(n)
                sent += n
            time.sleep(1.0)  # folds run between commits; give the last one time to finish
            written = wchar(proc.pid) - before - writes * len(REPLY_OK)
            c.send(resp("INFO", "persistence"))
            while b"db_last_write_status" not in c.buf:
                c.buf += c.sock.recv(65536)
            info = c.buf.decode(errors="replace")
            rewrites = next(l.split(":")[1].strip() for l in info.splitlines() if l.startswith("db_rewrites:"))
            return written / writes, rewrites
        finally:
            stop(proc, timeout=60)


def run_bytes(opts):
    print(f"One-field SET (`SET doc n <i>`) on a document of about 100 bytes and of about 1 MB; "
          f"{opts.writes} SETs each, usld --db --shards 1; bytes per SET from /proc/<pid>/io wchar "
          f"(write-ahead log frames, checkpoints, rewrites) less the 5-byte replies.\n")
    print("| document | pipeline | --db-rewrite-min-bytes | bytes written per SET | rewrites |")
    print("|---|---:|---:|---:|---:|")
    for rewrite_min in (None, 1 << 20):
        for pipeline in (1, 16):
            for label, size in (("100 B", 100), ("1 MB", 1 << 20)):
                per_write, rewrites = measure_bytes(opts.usld, size, opts.writes, pipeline, rewrite_min)
                shown = f"{rewrite_min:,}" if rewrite_min else "default (64 MiB)"
                print(f"| {label} | {pipeline} | {shown} | {per_write:,.0f} | {rewrites} |", flush=True)


def load_documents(port, count, batch=10_000):
    c = Conn(port)
    for start_at in range(0, count, batch):
        n = min(batch, count - start_at)
        c.send(b"".join(resp("SET", f"doc:{i}", "name", "Alice") for i in range(start_at, start_at + n)))
        c.read_lines(n)


def time_restart(usld, db, shards):
    port = free_port()
    launched = time.time()
    proc = start(usld, db, shards, port)
    wait_port(port, proc, "usld", deadline_s=600)
    elapsed = time.time() - launched
    return elapsed, proc, port


def run_restart(opts):
    with tempfile.TemporaryDirectory(prefix="ussl-restart-") as root:
        db = os.path.join(root, "data.db")
        port = free_port()
        proc = start(opts.usld, db, opts.shards, port)
        wait_port(port, proc, "usld", deadline_s=600)
        t = time.time()
        load_documents(port, opts.documents)
        print(f"# loaded {opts.documents:,} documents in {time.time() - t:.1f} s", file=sys.stderr)
        stop(proc, timeout=600)
        size = sum(os.path.getsize(os.path.join(root, f)) for f in os.listdir(root))
        rows = []
        for run in range(opts.rounds):
            for how in ("clean stop", "SIGKILL"):
                elapsed, proc, port = time_restart(opts.usld, db, opts.shards)
                rows.append((how, elapsed))
                if how == "clean stop":
                    stop(proc, timeout=600)
                else:
                    # A few writes so the log is not empty, then a crash.
                    c = Conn(port)
                    c.send(b"".join(resp("SET", f"doc:{i}", "name", "Bob") for i in range(1000)))
                    c.read_lines(1000)
                    proc.kill()
                    proc.wait()
        print(f"Restart of usld --db --shards {opts.shards} on {opts.documents:,} small documents "
              f"(`SET doc:N name Alice`; files {size / 1e6:,.0f} MB), launch to first PONG, "
              f"median of {opts.rounds}.\n")
        print("| previous stop | restart (s) | all runs (s) |")
        print("|---|---:|---|")
        for how in ("clean stop", "SIGKILL"):
            times = [t for h, t in rows if h == how]
            print(f"| {how} | {statistics.median(times):.2f} | {', '.join(f'{t:.2f}' for t in times)} |")
        # The last run was killed: stop the server a last time so the directory can go.
        proc = start(opts.usld, db, opts.shards, free_port())
        stop(proc, timeout=600)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("what", choices=["bytes", "restart"])
    ap.add_argument("--usld", default="target/release/usld")
    ap.add_argument("--writes", type=int, default=30_000, help="SETs per document size (bytes)")
    ap.add_argument("--documents", type=int, default=1_000_000, help="documents (restart)")
    ap.add_argument("--shards", type=int, default=os.cpu_count() or 1, help="usld --shards (restart)")
    ap.add_argument("--rounds", type=int, default=3)
    opts = ap.parse_args()
    if opts.what == "bytes":
        run_bytes(opts)
    else:
        run_restart(opts)


if __name__ == "__main__":
    main()
