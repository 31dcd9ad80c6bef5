#!/usr/bin/env python3
"""The seed README's smart-switch example (use case 5), run as written against a real usld.

Usage: seed_iot_switch.py PORT

The device part is the README's code, with its socket address and relay functions filled in;
the phone app's `light.set('state', 'OFF')` is a second connection writing the same document.
Prints "relay off" when the switch saw the phone's OFF, and exits 0.
"""

import socket
import sys

port = int(sys.argv[1])
relay = []


def turn_off_relay():
    relay.append("off")


def turn_on_relay():
    relay.append("on")


# The phone app, which toggles the light once the switch listens.
phone = socket.create_connection(("127.0.0.1", port))
phone.settimeout(10)

# --- the README's device code ---
sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
sock.connect(('127.0.0.1', port))
sock.send(b'AUTH device-key\r\n')

# Report switch state
sock.send(b'SET device:switch-living-room state "ON"\r\n')

# Subscribe to commands from app
sock.send(b'SUB device:switch-living-room\r\n')
# --- end of the README's setup; its loop follows ---

sock.settimeout(10)
received = b""
# Wait for the subscription's confirmation before the phone writes.
while b"psubscribe" not in received:
    received += sock.recv(1024)
phone.sendall(b"AUTH device-key\r\nSET device:switch-living-room state \"OFF\"\r\n")
while True:
    data = sock.recv(1024)
    if b'"OFF"' in data:
        turn_off_relay()
        break
    elif b'"ON"' in data:
        turn_on_relay()
print(f"relay {relay[-1]}")
