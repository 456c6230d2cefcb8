#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Grant.RedisStore from Python, against a real redis-server."""

import json
import os
import shutil
import socket
import subprocess
import time
import unittest
import urllib.parse

import gi

gi.require_version('Grant', '1.0')
gi.require_version('Soup', '3.0')
from gi.repository import GLib, Grant, Soup  # noqa: E402

import testlib  # noqa: E402

PASSWORD = 'py-redis-pass'


def free_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


class Redis:
    """A redis-server of the test's own on 127.0.0.1, without persistence,
    and a minimal RESP client to look at what the store wrote."""

    def __init__(self):
        self.port = free_port()
        self.url = f'redis://:{PASSWORD}@127.0.0.1:{self.port}'
        self.process = None
        self.start()

    def start(self):
        self.process = subprocess.Popen(
            ['redis-server', '--port', str(self.port), '--bind', '127.0.0.1',
             '--save', '', '--appendonly', 'no', '--requirepass', PASSWORD],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while True:
            try:
                if self.command('PING') == 'PONG':
                    return
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError('redis-server did not start')
            time.sleep(0.02)

    def stop(self):
        if self.process is not None:
            self.process.kill()
            self.process.wait()
            self.process = None

    def command(self, *args):
        with socket.create_connection(('127.0.0.1', self.port), timeout=5) as s:
            request = b''
            for command in (('AUTH', PASSWORD), args):
                request += b'*%d\r\n' % len(command)
                for arg in command:
                    data = arg if isinstance(arg, bytes) else str(arg).encode()
                    request += b'$%d\r\n%s\r\n' % (len(data), data)
            s.sendall(request)
            reader = s.makefile('rb')
            self.read(reader)  # +OK to AUTH
            return self.read(reader)

    def read(self, reader):
        line = reader.readline().rstrip(b'\r\n')
        kind, rest = line[:1], line[1:]
        if kind in (b'+', b'-'):
            return rest.decode()
        if kind == b':':
            return int(rest)
        if kind == b'$':
            n = int(rest)
            if n < 0:
                return None
            data = reader.read(n + 2)[:-2]
            return data
        if kind == b'*':
            return [self.read(reader) for _ in range(int(rest))]
        raise ValueError(line)


class TokenEndpoint:
    """A token endpoint on 127.0.0.1 that counts its requests."""

    def __init__(self, client_id='py-fleet', client_secret='py fleet secret'):
        self.client_id = client_id
        self.client_secret = client_secret
        self.requests = 0
        self.server = Soup.Server()
        self.server.listen_local(0, Soup.ServerListenOptions.IPV4_ONLY)
        self.server.add_handler('/token', self.handle)
        port = self.server.get_uris()[0].get_port()
        self.token_url = f'http://127.0.0.1:{port}/token'

    def handle(self, server, msg, path, query):
        self.requests += 1
        form = urllib.parse.parse_qs(msg.get_request_body().flatten().get_data().decode())
        if form.get('client_secret') == [self.client_secret]:
            status, answer = 200, {'access_token': f'py-redis-token-{self.requests}',
                                   'token_type': 'Bearer', 'expires_in': 3600}
        else:
            status, answer = 401, {'error': 'invalid_client'}
        msg.set_status(status, None)
        msg.set_response('application/json', Soup.MemoryUse.COPY, json.dumps(answer).encode())


@unittest.skipIf(shutil.which('redis-server') is None, 'redis-server is not installed')
class RedisStoreTest(unittest.TestCase):
    def setUp(self):
        self.redis = Redis()
        self.endpoint = TokenEndpoint()
        self.loop = GLib.MainLoop()

    def tearDown(self):
        self.redis.stop()

    def provider(self, store, secret=None):
        provider = Grant.TokenProvider.new(self.endpoint.token_url, self.endpoint.client_id,
                                           secret or self.endpoint.client_secret)
        provider.props.auto_refresh = False
        provider.props.store = store
        return provider

    def get_token(self, provider):
        return testlib.get_token(provider, self.loop)

    def stored_value(self, prefix='grant:'):
        """The one token under @prefix: its name ends with a check of the
        sealing key, which only the providers derive."""
        key = Grant.TokenKey.new(self.endpoint.token_url, self.endpoint.client_id,
                                 Grant.AuthMethod.CLIENT_SECRET_POST, None, None)
        names = [name for name in self.redis.command('KEYS', prefix + key.get_id() + ':*')
                 if not name.endswith(b':lock')]
        self.assertLessEqual(len(names), 1)
        return self.redis.command('GET', names[0]) if names else None

    def test_url_never_shows_the_password(self):
        store = Grant.RedisStore.new(self.redis.url)
        self.assertNotIn(PASSWORD, store.props.url)
        self.assertIn('***', store.get_url())
        with self.assertRaises(GLib.Error) as caught:
            Grant.RedisStore.new(f'http://:{PASSWORD}@127.0.0.1/')
        self.assertTrue(caught.exception.matches(Grant.error_quark(),
                                                 Grant.Error.INVALID_CONFIGURATION))
        self.assertNotIn(PASSWORD, caught.exception.message)

    def test_two_hosts_share_one_token(self):
        # Two "hosts": each its own store, connection and provider.
        first = self.get_token(self.provider(Grant.RedisStore.new(self.redis.url)))
        second = self.get_token(self.provider(Grant.RedisStore.new(self.redis.url)))
        self.assertEqual(first['token'].get_access_token(), second['token'].get_access_token())
        self.assertEqual(self.endpoint.requests, 1)

        # Sealed with the key derived from the secret: neither is readable.
        raw = self.stored_value()
        self.assertIsInstance(raw, bytes)
        self.assertNotIn(first['token'].get_access_token().encode(), raw)
        self.assertNotIn(self.endpoint.client_secret.encode(), raw)

        # Every key it wrote expires.
        for key in self.redis.command('KEYS', '*'):
            self.assertGreater(self.redis.command('PTTL', key), 0)

    def test_wrong_secret_gets_nothing(self):
        self.get_token(self.provider(Grant.RedisStore.new(self.redis.url)))
        result = self.get_token(self.provider(Grant.RedisStore.new(self.redis.url),
                                              secret='not the secret'))
        self.assertNotIn('token', result)
        self.assertTrue(result['error'].matches(Grant.error_quark(), Grant.Error.INVALID_CLIENT))

    def test_application_key_and_prefix(self):
        key = GLib.Bytes.new(bytes(range(32)))
        store = Grant.RedisStore.new(self.redis.url)
        store.props.encryption_key = key
        store.props.key_prefix = 'py-staging:'
        token = self.get_token(self.provider(store))['token']
        self.assertIsNotNone(self.stored_value('py-staging:'))
        self.assertIsNone(self.stored_value())

        # Another host with the same application key and a wrong secret
        # would open it: the application key replaces the credentials.
        other = Grant.RedisStore.new(self.redis.url)
        other.props.encryption_key = key
        other.props.key_prefix = 'py-staging:'
        again = self.get_token(self.provider(other))['token']
        self.assertEqual(again.get_access_token(), token.get_access_token())
        self.assertEqual(self.endpoint.requests, 1)

    def test_redis_down_then_back(self):
        store = Grant.RedisStore.new(self.redis.url)
        self.redis.stop()
        # Down: the token comes from the network.
        down = self.get_token(self.provider(store))
        self.assertIn('token', down)
        self.assertEqual(self.endpoint.requests, 1)

        # Back: the same store object uses it at once.
        self.redis.start()
        self.get_token(self.provider(store))
        self.assertEqual(self.endpoint.requests, 2)
        self.assertIsNotNone(self.stored_value())
        third = self.get_token(self.provider(Grant.RedisStore.new(self.redis.url)))
        self.assertEqual(self.endpoint.requests, 2)
        self.assertEqual(third['token'].get_access_token(), 'py-redis-token-2')


if __name__ == '__main__':
    unittest.main()
