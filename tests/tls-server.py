#!/usr/bin/python3
# tls-server.py: a token endpoint and an API over TLS 1.3 on 127.0.0.1,
# served by Python's ssl module (OpenSSL), which issues TLS 1.3 session
# tickets as real servers do. tests/python/test_tls.py is its client: the
# client side must be a process that never called g_test_init(), in which
# glib-networking 2.74 turns session resumption off.
#
#   tls-server.py CERT KEY
#
# Prints "TLS_PORT CONTROL_PORT" and serves until stdin closes. The control
# port (plain HTTP) answers GET / with counts, as JSON: the requests that
# reached the TLS server, token and API ones, API ones with an
# Authorization header (one written on a connection the client should have
# refused shows there), its connections, and those resumed from a ticket.
#
# SPDX-License-Identifier: LGPL-2.1-or-later

import http.server
import json
import ssl
import sys
import threading

# Requests that reached the handlers; connections, and those that resumed
# an earlier session from its ticket.
counts = {"token": 0, "api": 0, "authorized": 0, "connections": 0, "resumed": 0}
lock = threading.Lock()


def count(name):
    with lock:
        counts[name] += 1


class TlsHandler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def setup(self):
        super().setup()
        count("connections")
        if self.connection.session_reused:
            count("resumed")

    def answer(self, content_type, body):
        self.send_response(200)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length", "0")))
        if self.path.startswith("/token"):
            count("token")
            self.answer("application/json",
                        b'{"access_token":"tls-token","token_type":"Bearer",'
                        b'"expires_in":3600}')
        else:
            count("api")
            self.answer("text/plain", b"ok")

    def do_GET(self):
        count("api")
        if self.headers.get("Authorization"):
            count("authorized")
        self.answer("text/plain", b"ok")


class ControlHandler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def do_GET(self):
        with lock:
            body = json.dumps(counts).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


def main():
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(sys.argv[1], sys.argv[2])
    context.minimum_version = ssl.TLSVersion.TLSv1_3

    tls = http.server.ThreadingHTTPServer(("127.0.0.1", 0), TlsHandler)
    tls.socket = context.wrap_socket(tls.socket, server_side=True)
    tls.daemon_threads = True
    control = http.server.ThreadingHTTPServer(("127.0.0.1", 0), ControlHandler)
    control.daemon_threads = True

    for server in (tls, control):
        threading.Thread(target=server.serve_forever, daemon=True).start()
    print(tls.server_address[1], control.server_address[1], flush=True)

    sys.stdin.read()


if __name__ == "__main__":
    main()
