#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Grant.ClientKey from Python: a PEM key openssl made, its thumbprint
(checked against RFC 7638 computed here), its public JWK, and generated
keys; private_key_jwt; and DPoP proofs on token and API requests, with
the nonces servers ask for."""

import base64
import hashlib
import json
import os
import shutil
import subprocess
import tempfile
import unittest

import gi

gi.require_version('Grant', '1.0')
gi.require_version('Soup', '3.0')
from gi.repository import GLib, Grant, Soup  # noqa: E402

import testlib  # noqa: E402

PASSWORD = 'python-test-password'

REQUIRED = {
    'RSA': ('e', 'kty', 'n'),
    'EC': ('crv', 'kty', 'x', 'y'),
    'OKP': ('crv', 'kty', 'x'),
}


def thumbprint(jwk):
    canonical = json.dumps({k: jwk[k] for k in REQUIRED[jwk['kty']]},
                           separators=(',', ':'), sort_keys=True)
    digest = hashlib.sha256(canonical.encode()).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip('=')


@unittest.skipUnless(shutil.which('openssl'), 'openssl makes the test keys')
class FromFile(unittest.TestCase):
    def setUp(self):
        self.directory = tempfile.mkdtemp(prefix='grant-py-key-')
        self.path = os.path.join(self.directory, 'key.pem')
        subprocess.run(('openssl', 'genpkey', '-algorithm', 'RSA',
                        '-pkeyopt', 'rsa_keygen_bits:2048', '-out', self.path),
                       check=True, capture_output=True)

    def tearDown(self):
        shutil.rmtree(self.directory)

    def test_pem_file(self):
        key = Grant.ClientKey.new_from_file(self.path, None)
        self.assertEqual(key.get_algorithm(), 'RS256')
        self.assertEqual(key.props.algorithm, 'RS256')
        self.assertIsNone(key.props.certificate)

        jwk = json.loads(key.dup_public_jwk())
        self.assertEqual(jwk['kty'], 'RSA')
        self.assertEqual(jwk['e'], 'AQAB')
        self.assertEqual(jwk['alg'], 'RS256')
        self.assertNotIn('d', jwk)
        self.assertNotIn('kid', jwk)
        self.assertEqual(key.props.thumbprint, thumbprint(jwk))
        self.assertEqual(key.get_thumbprint(), key.props.thumbprint)

        key.props.key_id = 'python-key'
        self.assertEqual(key.dup_key_id(), 'python-key')
        self.assertEqual(json.loads(key.dup_public_jwk())['kid'], 'python-key')

        self.assertTrue(key.set_algorithm('PS256'))
        self.assertEqual(json.loads(key.dup_public_jwk())['alg'], 'PS256')
        with self.assertRaises(GLib.Error) as raised:
            key.set_algorithm('ES256')
        self.assertTrue(raised.exception.matches(Grant.error_quark(),
                                                 Grant.Error.INVALID_CONFIGURATION))

    def test_pem_text(self):
        with open(self.path) as f:
            key = Grant.ClientKey.new_from_pem(f.read(), -1, None)
        self.assertEqual(key.get_algorithm(), 'RS256')

    def test_wrong_password(self):
        encrypted = os.path.join(self.directory, 'encrypted.pem')
        subprocess.run(('openssl', 'pkcs8', '-topk8', '-v2', 'aes-256-cbc',
                        '-passout', 'pass:' + PASSWORD, '-in', self.path, '-out', encrypted),
                       check=True, capture_output=True)
        key = Grant.ClientKey.new_from_file(encrypted, PASSWORD)
        self.assertEqual(key.get_algorithm(), 'RS256')
        with self.assertRaises(GLib.Error) as raised:
            Grant.ClientKey.new_from_file(encrypted, 'not-' + PASSWORD + '-x')
        self.assertIn(encrypted, raised.exception.message)
        self.assertNotIn(PASSWORD, raised.exception.message)


class Generate(unittest.TestCase):
    def test_es256(self):
        key = Grant.ClientKey.generate('ES256')
        self.assertEqual(key.props.algorithm, 'ES256')
        jwk = json.loads(key.dup_public_jwk())
        self.assertEqual((jwk['kty'], jwk['crv']), ('EC', 'P-256'))
        self.assertEqual(len(base64.urlsafe_b64decode(jwk['x'] + '=')), 32)
        self.assertEqual(len(base64.urlsafe_b64decode(jwk['y'] + '=')), 32)
        self.assertEqual(key.props.thumbprint, thumbprint(jwk))
        self.assertTrue(key.supports_algorithm('ES256'))
        self.assertFalse(key.supports_algorithm('RS256'))

    def test_eddsa(self):
        jwk = json.loads(Grant.ClientKey.generate('EdDSA').dup_public_jwk())
        self.assertEqual((jwk['kty'], jwk['crv']), ('OKP', 'Ed25519'))

    def test_unknown(self):
        with self.assertRaises(GLib.Error):
            Grant.ClientKey.generate('HS256')



def b64decode(part):
    return base64.urlsafe_b64decode(part + '=' * (-len(part) % 4))


class PrivateKeyJwt(unittest.TestCase):
    """A provider that signs its assertions with a Grant.ClientKey, against
    a token endpoint here that reads them (their signatures are checked by
    a real server in test-interop)."""

    def setUp(self):
        self.requests = []
        self.server = Soup.Server()
        self.server.listen_local(0, Soup.ServerListenOptions.IPV4_ONLY)
        self.server.add_handler('/token', self.handle)
        self.url = 'http://127.0.0.1:%d/token' % self.server.get_uris()[0].get_port()

    def tearDown(self):
        self.server.disconnect()

    def handle(self, server, msg, path, query):
        body = msg.get_request_body().flatten().get_data().decode()
        self.requests.append(dict(p.split('=', 1) for p in body.split('&')))
        data = json.dumps({'access_token': 'jwt-%d' % len(self.requests), 'expires_in': 3600}).encode()
        msg.set_status(200, None)
        msg.set_response('application/json', Soup.MemoryUse.COPY, data)

    def get_token(self, provider):
        out = testlib.get_token(provider)
        if 'error' in out:
            raise out['error']
        return out['token']

    def test_assertion(self):
        key = Grant.ClientKey.generate('ES256')
        key.set_key_id('py-key')
        provider = Grant.TokenProvider(token_url=self.url, client_id='py-client', client_key=key,
                                       auth_method=Grant.AuthMethod.AUTO, auto_refresh=False)
        self.assertEqual(self.get_token(provider).get_access_token(), 'jwt-1')
        provider.invalidate(None)
        self.assertEqual(self.get_token(provider).get_access_token(), 'jwt-2')

        jtis = set()
        for fields in self.requests:
            self.assertEqual(fields['client_assertion_type'],
                             'urn%3Aietf%3Aparams%3Aoauth%3Aclient-assertion-type%3Ajwt-bearer')
            self.assertNotIn('client_secret', fields)
            header, claims, signature = fields['client_assertion'].split('.')
            header = json.loads(b64decode(header))
            claims = json.loads(b64decode(claims))
            self.assertEqual(header, {'alg': 'ES256', 'typ': 'JWT', 'kid': 'py-key'})
            self.assertEqual(claims['iss'], 'py-client')
            self.assertEqual(claims['sub'], 'py-client')
            self.assertEqual(claims['aud'], self.url)
            self.assertEqual(claims['exp'] - claims['iat'], 60)
            self.assertEqual(len(b64decode(signature)), 64)
            jtis.add(claims['jti'])
        self.assertEqual(len(jtis), 2)

    def test_tokens_kept_per_key(self):
        directory = tempfile.mkdtemp(prefix='grant-py-key-store-')
        try:
            store = Grant.FileStore.new(directory)
            first_key = Grant.ClientKey.generate('ES256')

            def provider(key):
                p = Grant.TokenProvider(token_url=self.url, client_id='py-client', client_key=key,
                                        auth_method=Grant.AuthMethod.AUTO, auto_refresh=False)
                p.set_store(store)
                return p

            self.assertEqual(self.get_token(provider(first_key)).get_access_token(), 'jwt-1')
            # Another key, the same client and request: not the stored token.
            self.assertEqual(self.get_token(provider(Grant.ClientKey.generate('ES256'))).get_access_token(),
                             'jwt-2')
            # The first key's token is still there for it.
            self.assertEqual(self.get_token(provider(first_key)).get_access_token(), 'jwt-1')
            self.assertEqual(len(self.requests), 2)
        finally:
            shutil.rmtree(directory)

    def test_key_with_the_default_method(self):
        """The default method sends a secret: with a key and none, a clear
        error that says what to set, and no request."""
        provider = Grant.TokenProvider(token_url=self.url, client_id='py-client',
                                       client_key=Grant.ClientKey.generate('ES256'),
                                       auto_refresh=False, max_attempts=1)
        with self.assertRaises(GLib.Error) as caught:
            provider.get_token(None)
        self.assertTrue(caught.exception.matches(Grant.error_quark(), Grant.Error.INVALID_CONFIGURATION))
        self.assertIn('set auth-method to AUTO or private_key_jwt', caught.exception.message)
        self.assertEqual(self.requests, [])

    def test_audience_and_missing_key(self):
        provider = Grant.TokenProvider(token_url=self.url, client_id='py-client',
                                       auth_method=Grant.AuthMethod.PRIVATE_KEY_JWT,
                                       auto_refresh=False, max_attempts=1)
        with self.assertRaises(GLib.Error) as caught:
            provider.get_token(None)
        self.assertTrue(caught.exception.matches(Grant.error_quark(), Grant.Error.INVALID_CONFIGURATION))
        self.assertIn('client-key', caught.exception.message)
        self.assertEqual(self.requests, [])

        provider.set_client_key(Grant.ClientKey.generate('EdDSA'))
        provider.set_assertion_audience('https://tenant.example.com/')
        self.get_token(provider)
        claims = json.loads(b64decode(self.requests[0]['client_assertion'].split('.')[1]))
        self.assertEqual(claims['aud'], 'https://tenant.example.com/')


def b64url(data):
    return base64.urlsafe_b64encode(data).decode().rstrip('=')


class Dpop(unittest.TestCase):
    """DPoP (RFC 9449) proofs from a provider with a dpop-key, against a
    token endpoint and an API here that read them and ask for nonces (their
    signatures are checked by a real server in test-interop)."""

    def setUp(self):
        self.token_requests = []
        self.api_requests = []
        self.server = Soup.Server()
        self.server.listen_local(0, Soup.ServerListenOptions.IPV4_ONLY)
        self.server.add_handler('/token', self.handle_token)
        self.server.add_handler('/api', self.handle_api)
        base = 'http://127.0.0.1:%d' % self.server.get_uris()[0].get_port()
        self.url = base + '/token'
        self.api_url = base + '/api'
        self.tokens = 0
        self.failures = []
        self.unavailable = 0

    def tearDown(self):
        self.server.disconnect()

    def proof(self, msg):
        """The request's DPoP proof, checked: its header and claims."""
        proof = msg.get_request_headers().get_one('DPoP')
        self.assertIsNotNone(proof)
        parts = proof.split('.')
        self.assertEqual(len(parts), 3)
        header = json.loads(b64decode(parts[0]))
        claims = json.loads(b64decode(parts[1]))
        self.assertEqual(header['typ'], 'dpop+jwt')
        self.assertEqual(header['alg'], 'ES256')
        self.assertEqual(header['jwk']['kty'], 'EC')
        self.assertNotIn('d', header['jwk'])
        self.assertEqual(len(b64decode(parts[2])), 64)
        self.assertLess(abs(claims['iat'] - GLib.get_real_time() / 1e6), 60)
        self.assertGreaterEqual(len(claims['jti']), 16)
        return header, claims

    def answer(self, msg, status, body, nonce, challenge=None):
        msg.set_status(status, None)
        headers = msg.get_response_headers()
        headers.replace('DPoP-Nonce', nonce)
        if challenge is not None:
            headers.replace('WWW-Authenticate', challenge)
        msg.set_response('application/json', Soup.MemoryUse.COPY, json.dumps(body).encode())

    def handle_token(self, server, msg, path, query):
        try:
            header, claims = self.proof(msg)
            self.token_requests.append(claims)
            self.assertEqual(claims['htm'], 'POST')
            self.assertEqual(claims['htu'], self.url)
            self.assertNotIn('ath', claims)
            body = msg.get_request_body().flatten().get_data().decode()
            fields = dict(p.split('=', 1) for p in body.split('&'))
            self.assertEqual(fields['client_secret'], 'py-secret')
            if 'nonce' not in claims:
                self.answer(msg, 400, {'error': 'use_dpop_nonce', 'error_description': 'nonce required'}, 'n-1')
                return
            self.assertEqual(claims['nonce'], 'n-1')
        except AssertionError as failure:
            self.failures.append(failure)
            self.answer(msg, 400, {'error': 'invalid_dpop_proof', 'error_description': str(failure)}, 'n-1')
            return
        if self.unavailable > 0:
            self.unavailable -= 1
            self.answer(msg, 503, {'error': 'temporarily_unavailable'}, 'n-1')
            return
        self.tokens += 1
        self.answer(msg, 200, {'access_token': 'dpop-token-%d' % self.tokens, 'token_type': 'DPoP',
                               'expires_in': 3600}, 'n-2')

    def handle_api(self, server, msg, path, query):
        try:
            header, claims = self.proof(msg)
            self.api_requests.append(claims)
            if claims.get('nonce') != 'api-1':
                self.answer(msg, 401, {}, 'api-1', 'DPoP error="use_dpop_nonce"')
                return
            self.assertEqual(msg.get_request_headers().get_one('Authorization'), 'DPoP dpop-token-1')
            self.assertEqual(claims['ath'], b64url(hashlib.sha256(b'dpop-token-1').digest()))
            self.assertEqual(claims['htm'], 'GET')
            self.assertEqual(claims['htu'], self.api_url)
        except AssertionError as failure:
            self.failures.append(failure)
            self.answer(msg, 403, {}, 'api-1')
            return
        self.answer(msg, 200, {'ok': True}, 'api-1')

    def run_async(self, start, finish):
        loop = GLib.MainLoop()
        out = {}

        def done(source, result):
            try:
                out['value'] = finish(result)
            except GLib.Error as error:
                out['error'] = error
            loop.quit()

        start(done)
        loop.run()
        if 'error' in out:
            raise out['error']
        return out['value']

    def provider(self, key):
        return Grant.TokenProvider(token_url=self.url, client_id='py-client', client_secret='py-secret',
                                   dpop_key=key, auth_method=Grant.AuthMethod.CLIENT_SECRET_POST,
                                   auto_refresh=False, max_attempts=1)

    def send(self, provider, message):
        stream = self.run_async(lambda done: provider.send_async(None, message, GLib.PRIORITY_DEFAULT,
                                                                 None, done),
                                provider.send_finish)
        stream.close(None)
        return message.get_status()

    def test_token_and_api(self):
        key = Grant.ClientKey.generate('ES256')
        provider = self.provider(key)
        self.assertIs(provider.props.dpop_key, key)
        self.assertIs(provider.get_dpop_key(), key)

        token = self.run_async(lambda done: provider.get_token_async(None, done), provider.get_token_finish)
        self.assertEqual(self.failures, [])
        self.assertEqual(token.get_access_token(), 'dpop-token-1')
        self.assertEqual(token.get_token_type(), 'DPoP')
        self.assertEqual(token.dup_authorization(), 'DPoP dpop-token-1')
        # The nonce asked for: one more request, not a failed attempt.
        self.assertEqual(len(self.token_requests), 2)
        self.assertNotIn('nonce', self.token_requests[0])
        self.assertEqual(self.token_requests[1]['nonce'], 'n-1')
        self.assertNotEqual(self.token_requests[0]['jti'], self.token_requests[1]['jti'])

        # The API asks for its nonce the first time only.
        self.assertEqual(self.send(provider, Soup.Message.new('GET', self.api_url + '?x=1')), 200)
        self.assertEqual(self.failures, [])
        self.assertEqual(len(self.api_requests), 2)
        self.assertEqual(self.send(provider, Soup.Message.new('GET', self.api_url + '?x=1')), 200)
        self.assertEqual(self.failures, [])
        self.assertEqual(len(self.api_requests), 3)
        self.assertEqual(len(self.token_requests), 2)
        self.assertEqual(len({claims['jti'] for claims in self.api_requests}), 3)

        # By hand: the nonce the API gave, the token's hash.
        url = self.api_url + '?x=1'
        header, claims = self.decode(provider.create_dpop_proof('GET', url, token, None))
        self.assertEqual(header['typ'], 'dpop+jwt')
        self.assertEqual(header['jwk'], {k: v for k, v in json.loads(key.dup_public_jwk()).items()
                                         if k in header['jwk']})
        self.assertNotIn('d', header['jwk'])
        self.assertEqual((claims['htm'], claims['htu']), ('GET', self.api_url))
        self.assertEqual(claims['nonce'], 'api-1')
        self.assertEqual(claims['ath'], b64url(hashlib.sha256(b'dpop-token-1').digest()))

        provider.set_dpop_nonce(url, 'x')
        header, claims = self.decode(provider.create_dpop_proof('GET', url, token, None))
        self.assertEqual(claims['nonce'], 'x')
        header, claims = self.decode(provider.create_dpop_proof('POST', url, None, 'given'))
        self.assertEqual((claims['htm'], claims['nonce']), ('POST', 'given'))
        self.assertNotIn('ath', claims)

    def decode(self, proof):
        parts = proof.split('.')
        self.assertEqual(len(parts), 3)
        return json.loads(b64decode(parts[0])), json.loads(b64decode(parts[1]))

    def test_nonce_is_not_an_attempt(self):
        """With two attempts, the request the nonce asked for leaves one
        for a server that is briefly unavailable."""
        self.unavailable = 1
        provider = self.provider(Grant.ClientKey.generate('ES256'))
        provider.props.max_attempts = 2
        token = self.run_async(lambda done: provider.get_token_async(None, done), provider.get_token_finish)
        self.assertEqual(self.failures, [])
        self.assertEqual(token.get_access_token(), 'dpop-token-1')
        self.assertEqual(len(self.token_requests), 3)
        self.assertEqual([claims.get('nonce') for claims in self.token_requests], [None, 'n-1', 'n-1'])

    def test_without_key(self):
        provider = self.provider(None)
        self.assertIsNone(provider.props.dpop_key)
        with self.assertRaises(GLib.Error) as caught:
            provider.create_dpop_proof('GET', self.api_url, None, None)
        self.assertTrue(caught.exception.matches(Grant.error_quark(), Grant.Error.INVALID_CONFIGURATION))


if __name__ == '__main__':
    unittest.main(verbosity=2)
