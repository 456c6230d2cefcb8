#!/usr/bin/python3
# fetch.py: the fetch loop of libgrant's benchmarks, with Python's authlib
# (Debian's python3-authlib, on requests), for comparison.
#
# Usage: fetch.py TOKEN_URL ITERATIONS
#
# Each iteration asks for a new token over one keep-alive session, with the
# client secret in a Basic header, as libgrant's loop does. Prints one line:
#   python-authlib <iterations> <mean microseconds per fetch>
#
# SPDX-License-Identifier: LGPL-2.1-or-later

import sys
import time

from authlib.integrations.requests_client import OAuth2Session


def main():
    if len(sys.argv) != 3:
        print("usage: fetch.py TOKEN_URL ITERATIONS", file=sys.stderr)
        return 2
    url = sys.argv[1]
    iterations = int(sys.argv[2])

    session = OAuth2Session(
        "test-client",
        "test-secret",
        token_endpoint_auth_method="client_secret_basic",
    )

    def fetch():
        token = session.fetch_token(url, grant_type="client_credentials")
        if not token.get("access_token"):
            raise SystemExit("fetch.py: no token")

    for _ in range(iterations // 10 + 1):
        fetch()

    start = time.perf_counter()
    for _ in range(iterations):
        fetch()
    elapsed = time.perf_counter() - start

    print("python-authlib %d %.2f" % (iterations, elapsed * 1e6 / iterations))
    return 0


if __name__ == "__main__":
    sys.exit(main())
