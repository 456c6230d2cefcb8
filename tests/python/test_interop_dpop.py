#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""DPoP from Python against oidc-provider with nonces required, and the
suite's resource server that verifies every proof (tests/interop/
oidc-server.mjs), run through tests/interop/run.sh (GRANT_INTEROP_DIR)."""

import json
import os
import subprocess
import unittest

import gi

gi.require_version('Grant', '1.0')
gi.require_version('Soup', '3.0')
from gi.repository import GLib, Grant, Soup  # noqa: E402


def counts(issuer):
    message = Soup.Message.new('GET', issuer + '/test/token-requests')
    return json.loads(Soup.Session().send_and_read(message, None).get_data())


@unittest.skipUnless(os.environ.get('GRANT_INTEROP_DIR'), 'run through tests/interop/run.sh')
class DpopInterop(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        directory = os.environ['GRANT_INTEROP_DIR']
        env = dict(os.environ)
        env.pop('GRANT_INTEROP_JWKS', None)
        cls.server = subprocess.Popen(['node', os.path.join(directory, 'oidc-server.mjs')], cwd=directory,
                                      stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env)
        cls.issuer = json.loads(cls.server.stdout.readline())['issuer']

    @classmethod
    def tearDownClass(cls):
        cls.server.kill()
        cls.server.wait()

    def send(self, provider, url):
        loop = GLib.MainLoop()
        out = {}

        def done(source, result):
            try:
                out['stream'] = source.send_finish(result)
            except GLib.Error as error:
                out['error'] = error
            loop.quit()

        message = Soup.Message.new('GET', url)
        provider.send_async(None, message, GLib.PRIORITY_DEFAULT, None, done)
        loop.run()
        if 'error' in out:
            raise out['error']
        return message

    def test_token_and_api(self):
        key = Grant.ClientKey.generate('ES256')
        provider = Grant.TokenProvider(token_url=self.issuer + '/token', client_id='dpop-client',
                                       client_secret='dpop-secret', scope='read', dpop_key=key,
                                       auto_refresh=False)
        before = counts(self.issuer)
        token = provider.get_token(None)
        self.assertEqual(token.get_token_type(), 'DPoP')
        after = counts(self.issuer)
        self.assertEqual(after['count'] - before['count'], 2)     # the nonce round trip
        self.assertEqual(after['dpop_jkt'], key.get_thumbprint())

        # The nonce is remembered: the next token costs one request.
        provider.invalidate(None)
        provider.get_token(None)
        self.assertEqual(counts(self.issuer)['count'] - before['count'], 3)

        # (The resource server shares the token endpoint's origin here, and
        # nonces are kept per origin: it comes after the token requests.)
        url = self.issuer + '/test/resource?page=1'
        for round in range(2):
            message = self.send(provider, url)
            self.assertEqual(message.get_status(), 200)
        # One nonce round trip at the resource server, then none.
        self.assertEqual(counts(self.issuer)['resource'] - before['resource'], 3)


if __name__ == '__main__':
    unittest.main(verbosity=2)
