#!/usr/bin/python3
# fetch.py: libgrant's benchmarks with Python's authlib (Debian's
# python3-authlib, on requests), for comparison; bench/run-benchmarks.sh
# runs it against the same grant-local-endpoint as libgrant, in the same run.
#
# Usage: fetch.py MODE TOKEN_URL N
#
# Modes, each printing one line "python-authlib MODE N FIGURES...":
#   fetch       N fresh fetches over one keep-alive session, the secret in
#               a Basic header, as libgrant's loop does; figures: wall and
#               CPU microseconds per fetch
#   cached      N calls of ensure_active_token() on a valid token, what
#               the session does before each request; figure: nanoseconds
#               per call
#   threads     8 threads let go at once, each making N calls of
#               ensure_active_token() on the session's valid token;
#               figures: nanoseconds per call as each thread sees it, and
#               calls per microsecond in all
#   concurrent  N threads let go at once, each calling
#               ensure_active_token() on the session's token, which has
#               just expired; figures: token requests made, wall
#               microseconds from the first thread's start until all have
#               returned, and of one fetch
#
# SPDX-License-Identifier: LGPL-2.1-or-later

import logging
import resource
import statistics
import sys
import threading
import time

from authlib.integrations.requests_client import OAuth2Session


def cpu_seconds():
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def new_session(url, requests):
    session = OAuth2Session(
        "test-client",
        "test-secret",
        token_endpoint_auth_method="client_secret_basic",
        token_endpoint=url,
        grant_type="client_credentials",
    )
    session.hooks["response"].append(lambda response, *args, **kwargs: requests.append(1))
    return session


def fetch(session, url):
    token = session.fetch_token(url, grant_type="client_credentials")
    if not token.get("access_token"):
        raise SystemExit("fetch.py: no token")
    return token


def main():
    if len(sys.argv) != 4 or sys.argv[1] not in ("fetch", "cached", "threads", "concurrent"):
        print("usage: fetch.py fetch|cached|threads|concurrent TOKEN_URL N", file=sys.stderr)
        return 2
    mode, url, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
    # More threads than the connection pool holds: urllib3 says so, once
    # per connection it drops.
    logging.getLogger("urllib3").setLevel(logging.ERROR)

    requests = []
    session = new_session(url, requests)

    # Warm up: the connection, the code paths.
    for _ in range(min(n // 10 + 1, 200)):
        fetch(session, url)

    if mode == "fetch":
        wall, cpu = time.perf_counter(), cpu_seconds()
        for _ in range(n):
            fetch(session, url)
        print("python-authlib fetch %d %.2f %.2f" % (
            n, (time.perf_counter() - wall) * 1e6 / n, (cpu_seconds() - cpu) * 1e6 / n))

    elif mode == "cached":
        rounds = []
        for _ in range(7):
            start = time.perf_counter()
            for _ in range(n):
                session.ensure_active_token(session.token)
            rounds.append((time.perf_counter() - start) * 1e9 / n)
        if session.token.is_expired():
            raise SystemExit("fetch.py: the cached token expired")
        print("python-authlib cached %d %.1f" % (n, statistics.median(rounds)))

    elif mode == "threads":
        count, rounds = 8, []
        for _ in range(5):
            gate = threading.Barrier(count + 1)

            def caller():
                gate.wait()
                for _ in range(n):
                    session.ensure_active_token(session.token)

            threads = [threading.Thread(target=caller) for _ in range(count)]
            for thread in threads:
                thread.start()
            gate.wait()
            start = time.perf_counter()
            for thread in threads:
                thread.join()
            rounds.append((time.perf_counter() - start) * 1e9 / n)
        per_call = statistics.median(rounds)
        print("python-authlib threads %d %d %.1f %.2f" % (n, count, per_call, count * 1000 / per_call))

    else:
        most, single, many = 0, [], []
        for _ in range(5):
            start = time.perf_counter()
            fetch(session, url)
            single.append((time.perf_counter() - start) * 1e6)

            # A token that has just expired. Each thread reads the session's
            # token when it is let go, as a request through the session
            # does (TokenAuth), so it sees a new one once one is in.
            session.token = dict(session.token, expires_at=int(time.time()) - 1)
            before = len(requests)
            gate = threading.Barrier(n + 1)

            def caller():
                gate.wait()
                session.ensure_active_token(session.token)

            threads = [threading.Thread(target=caller) for _ in range(n)]
            start = time.perf_counter()
            for thread in threads:
                thread.start()
            gate.wait()
            for thread in threads:
                thread.join()
            many.append((time.perf_counter() - start) * 1e6)
            most = max(most, len(requests) - before)
        print("python-authlib concurrent %d %d %.0f %.0f" % (
            n, most, statistics.median(many), statistics.median(single)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
