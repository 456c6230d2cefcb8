#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""The Grant typelib from Python: load it, fetch a token, see the signals."""

import json
import unittest
import urllib.parse

import gi

gi.require_version('Grant', '1.0')
gi.require_version('Soup', '3.0')
from gi.repository import Gio, GLib, Grant, Soup  # noqa: E402

import testlib  # noqa: E402


class TokenEndpoint:
    """A token endpoint on 127.0.0.1 that checks credentials in a form body."""

    def __init__(self, client_id='py-client', client_secret='py secret&:+%'):
        self.client_id = client_id
        self.client_secret = client_secret
        self.requests = 0
        self.last_form = {}
        self.server = Soup.Server()
        self.server.listen_local(0, Soup.ServerListenOptions.IPV4_ONLY)
        self.server.add_handler('/token', self.handle)
        self.server.add_handler('/api', self.handle_api)
        port = self.server.get_uris()[0].get_port()
        self.token_url = f'http://127.0.0.1:{port}/token'
        self.api_url = f'http://127.0.0.1:{port}/api'
        self.revoked = set()
        self.api_requests = 0

    def handle_api(self, server, msg, path, query):
        """An API that takes the endpoint's tokens, until revoked."""
        self.api_requests += 1
        token = (msg.get_request_headers().get_one('Authorization') or '').removeprefix('Bearer ')
        ok = token.startswith('py-token-') and token not in self.revoked
        answer = {'member': token} if ok else {'error': 'invalid_token'}
        msg.set_status(200 if ok else 401, None)
        msg.set_response('application/json', Soup.MemoryUse.COPY, json.dumps(answer).encode())

    def handle(self, server, msg, path, query):
        self.requests += 1
        body = msg.get_request_body().flatten().get_data().decode()
        form = urllib.parse.parse_qs(body)
        self.last_form = form
        ok = (form.get('grant_type') == ['client_credentials'] and
              form.get('client_id') == [self.client_id] and
              form.get('client_secret') == [self.client_secret])
        if ok:
            status = 200
            answer = {'access_token': f'py-token-{self.requests}',
                      'token_type': 'bearer', 'expires_in': '3600',
                      'tenant': {'id': 7}}
        else:
            status = 401
            answer = {'error': 'invalid_client',
                      'error_description': 'Unknown client'}
        data = json.dumps(answer).encode()
        msg.set_status(status, None)
        msg.set_response('application/json', Soup.MemoryUse.COPY, data)


class ProviderTest(unittest.TestCase):
    def setUp(self):
        self.endpoint = TokenEndpoint()
        self.loop = GLib.MainLoop()

    def get_token(self, provider):
        return testlib.get_token(provider, self.loop)

    def test_async_token_and_signals(self):
        provider = Grant.TokenProvider.new(self.endpoint.token_url,
                                           self.endpoint.client_id,
                                           self.endpoint.client_secret)
        refreshed = []
        provider.connect('token-refreshed', lambda p, t: refreshed.append(t))

        result = self.get_token(provider)
        self.assertNotIn('error', result)
        token = result['token']
        self.assertEqual(token.props.access_token, 'py-token-1')
        self.assertEqual(token.get_token_type(), 'Bearer')
        self.assertEqual(token.dup_authorization(), 'Bearer py-token-1')
        self.assertIsNotNone(token.props.expires_at)
        self.assertFalse(token.is_expired(60 * GLib.TIME_SPAN_SECOND))
        # The whole response stays reachable.
        response = token.get_response().get_object()
        self.assertEqual(response.get_object_member('tenant').get_int_member('id'), 7)

        self.assertEqual([t.props.access_token for t in refreshed], ['py-token-1'])
        self.assertIs(provider.peek_token(), token)
        self.assertIs(provider.props.token, token)

        # From the cache the second time.
        again = self.get_token(provider)['token']
        self.assertIs(again, token)
        self.assertEqual(self.endpoint.requests, 1)

    def test_error_domain_and_signal(self):
        provider = Grant.TokenProvider(token_url=self.endpoint.token_url,
                                       client_id=self.endpoint.client_id,
                                       client_secret='wrong')
        failures = []
        provider.connect('refresh-failed', lambda p, e: failures.append(e))

        result = self.get_token(provider)
        error = result['error']
        self.assertTrue(error.matches(Grant.error_quark(), Grant.Error.INVALID_CLIENT))
        self.assertIn('Unknown client', error.message)
        self.assertIn('HTTP 401', error.message)
        self.assertNotIn('wrong', error.message)
        self.assertEqual(len(failures), 1)
        self.assertTrue(failures[0].matches(Grant.error_quark(), Grant.Error.INVALID_CLIENT))

    def test_cancellation(self):
        provider = Grant.TokenProvider.new(self.endpoint.token_url,
                                           self.endpoint.client_id,
                                           self.endpoint.client_secret)
        cancellable = Gio.Cancellable()
        cancellable.cancel()
        result = {}

        def done(source, res):
            try:
                source.get_token_finish(res)
            except GLib.Error as error:
                result['error'] = error
            self.loop.quit()

        provider.get_token_async(cancellable, done)
        self.loop.run()
        self.assertTrue(result['error'].matches(Gio.io_error_quark(), Gio.IOErrorEnum.CANCELLED))
        self.assertEqual(self.endpoint.requests, 0)

    def test_invalidate(self):
        provider = Grant.TokenProvider.new(self.endpoint.token_url,
                                           self.endpoint.client_id,
                                           self.endpoint.client_secret)
        notified = []
        provider.connect('notify::token', lambda p, pspec: notified.append(p.props.token))
        first = self.get_token(provider)['token']
        provider.invalidate(first)
        self.assertIsNone(provider.peek_token())
        second = self.get_token(provider)['token']
        self.assertEqual(second.props.access_token, 'py-token-2')
        self.assertEqual(len(notified), 3)
        self.assertIsNone(notified[1])

    def send_and_read(self, provider, message):
        result = {}

        def done(source, res):
            try:
                result['body'] = source.send_and_read_finish(res)
            except GLib.Error as error:
                result['error'] = error
            self.loop.quit()

        provider.send_and_read_async(None, message, GLib.PRIORITY_DEFAULT, None, done)
        GLib.timeout_add_seconds(20, self.loop.quit)
        self.loop.run()
        return result

    def test_send_and_read(self):
        provider = Grant.TokenProvider.new(self.endpoint.token_url, 'py-client', 'py secret&:+%')
        message = Soup.Message.new('GET', self.endpoint.api_url)
        body = self.send_and_read(provider, message)['body']
        self.assertEqual(message.get_status(), 200)
        self.assertEqual(json.loads(body.get_data()), {'member': 'py-token-1'})

        # A revoked token: a new one, and one more try.
        self.endpoint.revoked.add('py-token-1')
        again = Soup.Message.new('GET', self.endpoint.api_url)
        body = self.send_and_read(provider, again)['body']
        self.assertEqual(again.get_status(), 200)
        self.assertEqual(json.loads(body.get_data()), {'member': 'py-token-2'})
        self.assertEqual(self.endpoint.requests, 2)
        self.assertEqual(self.endpoint.api_requests, 3)

        # No token: the error, and nothing sent.
        provider.props.client_secret = 'wrong'
        provider.invalidate(None)
        result = self.send_and_read(provider, Soup.Message.new('GET', self.endpoint.api_url))
        self.assertTrue(result['error'].matches(Grant.error_quark(), Grant.Error.INVALID_CLIENT))
        self.assertEqual(self.endpoint.api_requests, 3)

    def test_secret_is_write_only(self):
        provider = Grant.TokenProvider(client_secret='hunter2')
        with self.assertRaises(TypeError):
            provider.props.client_secret
        provider.props.client_secret = 'rotated'

    def test_preset(self):
        presets = Grant.Dialect.list_presets()
        for name in ['expertfile', 'json-body', 'officernd', 'rfc6749', 'smartdocumentor']:
            self.assertIn(name, presets)

        provider = Grant.TokenProvider.new_from_preset('smartdocumentor',
                                                       self.endpoint.client_id,
                                                       self.endpoint.client_secret)
        self.assertEqual(provider.props.token_url,
                         'https://cloud.smartdocumentor.net/connect/token')
        self.assertEqual(provider.props.scope, 'WebAPI')
        self.assertEqual(provider.props.dialect.props.name, 'smartdocumentor')

        # Per-customer and test URLs replace the preset's.
        provider.props.token_url = self.endpoint.token_url
        token = self.get_token(provider)['token']
        self.assertEqual(token.props.access_token, 'py-token-1')
        self.assertEqual(self.endpoint.last_form.get('scope'), ['WebAPI'])

    def test_preset_with_variables(self):
        provider = Grant.TokenProvider.new_from_preset_with_variables(
            'keycloak', ['host=sso.example.com', 'realm=acme'], 'id', 'secret')
        self.assertEqual(provider.props.token_url,
                         'https://sso.example.com/realms/acme/protocol/openid-connect/token')
        provider = Grant.TokenProvider.new_from_preset_with_variables(
            'auth0', ['domain=tenant.eu.auth0.com'], 'id', 'secret')
        self.assertEqual(provider.props.assertion_audience, 'https://tenant.eu.auth0.com/')
        for variables in (['host=evil.example/x', 'realm=acme'], ['host=sso.example.com'],
                          ['host=a', 'realm=b', 'tenant=c']):
            with self.assertRaises(GLib.Error) as raised:
                Grant.TokenProvider.new_from_preset_with_variables('keycloak', variables, 'id', 's')
            self.assertTrue(raised.exception.matches(Grant.error_quark(),
                                                     Grant.Error.INVALID_CONFIGURATION))

    def test_token_property_getter_does_no_io(self):
        """The GIR must not name the blocking get_token() as the getter of
        the token property: bindings that honour getters would do I/O on a
        property read."""
        import os
        import xml.etree.ElementTree as ET
        gir = None
        for directory in os.environ.get('GI_TYPELIB_PATH', '').split(':'):
            if os.path.exists(os.path.join(directory, 'Grant-1.0.gir')):
                gir = os.path.join(directory, 'Grant-1.0.gir')
                break
        if gir is None:
            self.skipTest('the GIR is not beside the typelib')
        ns = {'c': 'http://www.gtk.org/introspection/core/1.0',
              'glib': 'http://www.gtk.org/introspection/glib/1.0'}
        klass = ET.parse(gir).getroot().find(".//c:class[@name='TokenProvider']", ns)
        prop = klass.find("c:property[@name='token']", ns)
        self.assertNotEqual(prop.get('getter'), 'get_token')
        getter = klass.find("c:method[@name='get_token']", ns)
        self.assertIsNone(getter.get('{http://www.gtk.org/introspection/glib/1.0}get-property'))

    def test_unknown_preset(self):
        with self.assertRaises(GLib.Error) as raised:
            Grant.TokenProvider.new_from_preset('no-such-preset', 'id', 's')
        self.assertTrue(raised.exception.matches(Grant.error_quark(),
                                                 Grant.Error.INVALID_CONFIGURATION))

    def test_enums_and_defaults(self):
        provider = Grant.TokenProvider.new(self.endpoint.token_url, 'id', 's')
        self.assertEqual(provider.props.auth_method, Grant.AuthMethod.CLIENT_SECRET_POST)
        self.assertEqual(provider.props.request_format, Grant.RequestFormat.FORM)
        self.assertEqual(provider.props.expiry_margin, 60)
        self.assertEqual(provider.props.default_lifetime, 600)
        self.assertEqual(provider.props.timeout, 30)


if __name__ == '__main__':
    unittest.main(verbosity=2)
