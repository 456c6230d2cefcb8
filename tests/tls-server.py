#!/usr/bin/python3
# tls-server.py: a token endpoint and an API over TLS 1.3 on 127.0.0.1,
# served by Python's ssl module (OpenSSL), which issues TLS 1.3 session
# tickets as real servers do. tests/python/test_tls.py is its client: the
# client side must be a process that never called g_test_init(), in which
# glib-networking 2.74 turns session resumption off.
#
#   tls-server.py CERT KEY [CLIENT_CA]
#
# With CLIENT_CA, the server asks for a client certificate (optional) and
# records, for the last token request, the SHA-256 of the certificate the
# client presented (or null) and the body's fields. GET
# /.well-known/oauth-authorization-server gives metadata with a token
# endpoint that refuses everything and a mutual TLS alias that works.
#
# Prints "TLS_PORT CONTROL_PORT" and serves until stdin closes. The control
# port (plain HTTP) answers GET / with counts, as JSON: the requests that
# reached the TLS server, token and API ones, API ones with an
# Authorization header (one written on a connection the client should have
# refused shows there), its connections, and those resumed from a ticket.
#
# SPDX-License-Identifier: LGPL-2.1-or-later

import hashlib
import http.server
import json
import ssl
import sys
import threading
import urllib.parse

# Requests that reached the handlers; connections, and those that resumed
# an earlier session from its ticket.
counts = {"token": 0, "api": 0, "authorized": 0, "connections": 0, "resumed": 0, "not_mtls": 0,
          "last_token": None, "last_api_client_cert": None}
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
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        if self.path.startswith("/token"):
            count("token")
            presented = self.connection.getpeercert(binary_form=True)
            with lock:
                counts["last_token"] = {
                    "client_cert": hashlib.sha256(presented).hexdigest() if presented else None,
                    "fields": dict(urllib.parse.parse_qsl(body.decode())),
                    "authorization": self.headers.get("Authorization") is not None,
                }
            self.answer("application/json",
                        b'{"access_token":"tls-token","token_type":"Bearer",'
                        b'"expires_in":3600}')
        elif self.path.startswith("/not-mtls"):
            count("not_mtls")
            self.send_response(400)
            self.send_header("Content-Length", "0")
            self.end_headers()
        else:
            count("api")
            self.answer("text/plain", b"ok")

    def do_GET(self):
        presented = self.connection.getpeercert(binary_form=True)
        if self.path.startswith("/api"):
            with lock:
                counts["last_api_client_cert"] = hashlib.sha256(presented).hexdigest() if presented else None
        if self.path == "/.well-known/oauth-authorization-server":
            # RFC 8414 metadata whose token endpoint refuses everything, and
            # whose mutual TLS alias (RFC 8705 section 5) is the real one.
            base = "https://127.0.0.1:%d" % self.server.server_address[1]
            self.answer("application/json", json.dumps({
                "issuer": base,
                "token_endpoint": base + "/not-mtls",
                "mtls_endpoint_aliases": {"token_endpoint": base + "/token"},
            }).encode())
            return
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
    if len(sys.argv) > 3:
        context.verify_mode = ssl.CERT_OPTIONAL
        context.load_verify_locations(sys.argv[3])

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
