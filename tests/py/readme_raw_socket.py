#!/usr/bin/env python3
"""The seed README's "any language" examples, run as written against a real usld.

Usage: readme_raw_socket.py PORT   (the server must run with --password mypassword)

Runs the raw-socket Python example (AUTH, SET, GET), the IoT sensor example and the fleet example
(its value made by json.dumps, sent unquoted), checking every reply. Exits non-zero on the first
mismatch; prints one line per example that passed.
"""

import json
import socket
import sys


def recv_reply(sock):
    """Reads until a full line, plus a bulk body when the reply is a bulk string."""
    data = b""
    while not data.endswith(b"\r\n") or (data.startswith(b"$") and data.count(b"\r\n") < 2):
        chunk = sock.recv(1024)
        if not chunk:
            raise SystemExit(f"connection closed after {data!r}")
        data += chunk
    return data


def expect(actual, expected, what):
    if actual != expected:
        raise SystemExit(f"{what}: expected {expected!r}, got {actual!r}")


def raw_socket_example(port):
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.connect(("localhost", port))
    sock.send(b"AUTH mypassword\r\n")
    expect(recv_reply(sock), b"+OK\r\n", "AUTH")
    sock.send(b'SET user:123 name "Alice"\r\n')
    expect(recv_reply(sock), b"+OK\r\n", "SET")
    sock.send(b"GET user:123\r\n")
    reply = recv_reply(sock)
    if b'{"name": "Alice"}' not in reply:
        raise SystemExit(f"GET: {reply!r} lacks the document")
    sock.close()
    print("raw socket example: ok")


def sensor_example(port):
    sock = socket.create_connection(("localhost", port))
    sock.send(b"AUTH mypassword\r\n")
    expect(recv_reply(sock), b"+OK\r\n", "AUTH")
    temp = 21.5
    sock.send(f"SET sensor:temp-01 value {temp}\r\n".encode())
    expect(recv_reply(sock), b"+OK\r\n", "SET value")
    sock.send(b"GET sensor:temp-01 PATH value\r\n")
    expect(recv_reply(sock), b"$4\r\n21.5\r\n", "GET PATH value")
    sock.close()
    print("sensor example: ok")


def fleet_example(port):
    sock = socket.create_connection(("localhost", port))
    sock.send(b"AUTH mypassword\r\n")
    expect(recv_reply(sock), b"+OK\r\n", "AUTH")
    vehicle_id = "vehicle:truck-42"
    data = json.dumps(
        {"lat": 45.1, "lon": 9.2, "speed": 80, "fuel": 0.65, "engine_temp": 90.5}
    )
    sock.send(f"SET {vehicle_id} data {data}\r\n".encode())
    expect(recv_reply(sock), b"+OK\r\n", "SET data")
    sock.send(f"GET {vehicle_id}\r\n".encode())
    body = f'{{"data": {data}}}'.encode()
    expect(recv_reply(sock), b"$%d\r\n%s\r\n" % (len(body), body), "GET vehicle")
    sock.close()
    print("fleet example: ok")


def main():
    port = int(sys.argv[1])
    raw_socket_example(port)
    sensor_example(port)
    fleet_example(port)


if __name__ == "__main__":
    main()
