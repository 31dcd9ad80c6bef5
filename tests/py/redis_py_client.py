#!/usr/bin/env python3
"""redis-py (the `redis` package) against a real usld.

Usage:
  redis_py_client.py PROTOCOL basic PORT            server without a password
  redis_py_client.py PROTOCOL auth PORT PASSWORD    server started with --password PASSWORD

PROTOCOL is 2 (RESP2, `protocol=2`) or `default` (whatever redis.Redis() does unasked; redis-py 8
sends `HELLO 3` on connect).

basic: ping, SET/GET of a JSON document through execute_command and r.get, INC, and a
non-transactional pipeline of 100 commands whose replies come back in order, and a default
(MULTI/EXEC) pipeline that raises usld's no-transactions error without applying its command.
auth: redis.Redis(password=...) authenticates and writes; a wrong password raises
AuthenticationError; no password at all gets the NOAUTH error on the first command.
Exits non-zero on the first failed check; prints "redis-py <mode>: ok" when all pass.
"""

import sys

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry


def check(condition, what):
    if not condition:
        raise SystemExit(f"check failed: {what}")


def basic(port, options):
    r = redis.Redis(port=port, decode_responses=True, **options)
    check(r.ping() is True, "ping")
    check(r.execute_command("SET", "u", "name", "Alice"), "SET u name Alice")
    check(r.get("u") == '{"name": "Alice"}', f"get u: {r.get('u')!r}")
    check(r.execute_command("INC", "c", "n", 5) == 5, "INC c n 5")
    check(r.execute_command("INC", "c", "n", 5) == 10, "INC c n 5 again")
    check(r.execute_command("GET", "c", "PATH", "n") == "10", "GET c PATH n")
    pipe = r.pipeline(transaction=False)
    for i in range(50):
        pipe.execute_command("INC", "p", "n", 1)
        pipe.execute_command("GET", "p", "PATH", "n")
    replies = pipe.execute()
    check(len(replies) == 100, f"pipeline answered {len(replies)} replies")
    check(replies[0::2] == list(range(1, 51)), f"pipeline INC replies {replies[0::2]}")
    check(replies[1::2] == [str(i) for i in range(1, 51)], "pipeline GET replies")
    transaction = r.pipeline()
    transaction.execute_command("SET", "tx", "n", 1)
    try:
        transaction.execute()
        raise SystemExit("a MULTI/EXEC pipeline did not raise")
    except redis.exceptions.ResponseError as e:
        check("no transactions" in str(e), f"MULTI/EXEC pipeline error: {e}")
    check(r.execute_command("GET", "tx") == "null", "the MULTI/EXEC pipeline's SET was applied")
    check(r.execute_command("SET", "tx", "n", 2), "SET after the refused MULTI/EXEC")
    try:
        r.execute_command("NOPE")
        raise SystemExit("unknown command did not raise")
    except redis.exceptions.ResponseError as e:
        check("unknown command" in str(e), f"unknown command error: {e}")


def auth(port, password, options):
    r = redis.Redis(port=port, password=password, decode_responses=True, **options)
    check(r.ping() is True, "ping with password")
    check(r.execute_command("SET", "u", "name", "Alice"), "SET after auth")
    check(r.get("u") == '{"name": "Alice"}', "get after auth")
    # No retries: redis-py otherwise retries a failed handshake with back-off for seconds.
    no_retry = Retry(NoBackoff(), 0)
    wrong = redis.Redis(port=port, password=password + "-wrong", retry=no_retry, **options)
    try:
        wrong.ping()
        raise SystemExit("a wrong password did not raise")
    except redis.exceptions.AuthenticationError:
        pass
    anonymous = redis.Redis(port=port, **options)
    try:
        anonymous.get("u")
        raise SystemExit("no password did not raise")
    except (redis.exceptions.AuthenticationError, redis.exceptions.ResponseError) as e:
        # usld words it `-ERR NOAUTH ...` as the seed README specifies, which redis-py raises
        # as a ResponseError (Redis's own `-NOAUTH ...` would be an AuthenticationError).
        # With RESP3 (redis-py 8's default) the refusal comes earlier, at the `HELLO 3`
        # handshake, worded as Redis words it.
        refused = ("Authentication required" in str(e)
                   or "must be called with the client already authenticated" in str(e))
        check(refused, f"NOAUTH error: {e}")


def main():
    protocol, mode, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
    options = {} if protocol == "default" else {"protocol": int(protocol)}
    if mode == "basic":
        basic(port, options)
    elif mode == "auth":
        auth(port, sys.argv[4], options)
    else:
        raise SystemExit(f"unknown mode {mode}")
    print(f"redis-py {mode}: ok")


if __name__ == "__main__":
    main()
