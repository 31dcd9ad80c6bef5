#!/usr/bin/env python3
"""redis-py's pub/sub API consuming usld change events, unchanged.

Usage: redis_py_pubsub.py PROTOCOL PORT    (PROTOCOL: 2, or 3 for RESP3 pushes)

A `pubsub()` object PSUBSCRIBEs to `sensor:*`; another connection writes with SET and INC; the
pattern messages arrive through `get_message` with type `pmessage`, the pattern, the document id
as the channel and the JSON delta as the data, in write order. A `psubscribe` with a callback
handler and `run_in_thread` receives the same events. Prints "redis-py pubsub: ok".
"""

import json
import sys
import threading

import redis


def check(condition, what):
    if not condition:
        raise SystemExit(f"check failed: {what}")


def next_message(pubsub):
    message = pubsub.get_message(ignore_subscribe_messages=True, timeout=10)
    check(message is not None, "a message arrived within 10 s")
    return message


def main():
    protocol, port = int(sys.argv[1]), int(sys.argv[2])
    r = redis.Redis(port=port, decode_responses=True, protocol=protocol)
    pubsub = r.pubsub()
    pubsub.psubscribe("sensor:*")
    confirmation = pubsub.get_message(timeout=10)
    check(confirmation["type"] == "psubscribe", f"confirmation {confirmation}")
    check(confirmation["pattern"] is None or confirmation["channel"] == "sensor:*",
          f"confirmation names the pattern: {confirmation}")

    r.execute_command("SET", "sensor:temp-01", "value", 21.5)
    r.execute_command("INC", "sensor:door", "opened", 1)
    r.execute_command("SET", "other:1", "value", 1)
    r.execute_command("SET", "sensor:temp-01", "value", 22)

    first = next_message(pubsub)
    check(first["type"] == "pmessage", f"type {first}")
    check(first["pattern"] == "sensor:*", f"pattern {first}")
    check(first["channel"] == "sensor:temp-01", f"channel {first}")
    delta = json.loads(first["data"])
    check(delta == {"op": "set", "id": "sensor:temp-01", "path": "value", "value": 21.5,
                    "version": 1}, f"delta {delta}")
    rest = [next_message(pubsub) for _ in range(2)]
    by_channel = {m["channel"]: json.loads(m["data"]) for m in rest}
    check(by_channel["sensor:door"]["value"] == 1, f"door {by_channel}")
    check(by_channel["sensor:temp-01"]["value"] == 22, f"temp {by_channel}")
    check(pubsub.get_message(ignore_subscribe_messages=True, timeout=0.2) is None,
          "other:1 was not delivered")

    seen = []
    done = threading.Event()

    def handler(message):
        seen.append(json.loads(message["data"]))
        if len(seen) == 3:
            done.set()

    threaded = r.pubsub()
    threaded.psubscribe(**{"counter:*": handler})
    # Writes count only once the subscription is confirmed: read the confirmation first.
    confirmation = threaded.get_message(timeout=10)
    check(confirmation["type"] == "psubscribe", f"handler confirmation {confirmation}")
    worker = threaded.run_in_thread(sleep_time=0.01, daemon=True)
    for _ in range(3):
        r.execute_command("INC", "counter:views", "count", 1)
    check(done.wait(10), f"handler saw {seen}")
    check([e["value"] for e in seen] == [1, 2, 3], f"handler values {seen}")
    worker.stop()
    pubsub.close()
    print("redis-py pubsub: ok")


if __name__ == "__main__":
    main()
