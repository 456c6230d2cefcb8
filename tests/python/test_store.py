#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""A Grant.TokenStore implemented in Python, used by a provider."""

import json
import unittest

import gi

gi.require_version('Grant', '1.0')
gi.require_version('Soup', '3.0')
from gi.repository import Gio, GLib, GObject, Grant, Soup  # noqa: E402


class DictStore(GObject.Object, Grant.TokenStore):
    """Keeps serialized tokens in a dictionary, keyed by the key's id.

    PyGObject hands an async vfunc its callback already bound to its
    user_data: the Gio.Task takes the callback alone.
    """

    def __init__(self):
        super().__init__()
        self.items = {}
        self.saves = 0
        self.loads = 0

    def do_load_async(self, key, cancellable, callback, user_data):
        self.loads += 1
        task = Gio.Task.new(self, cancellable, callback)
        data = self.items.get(key.get_id())
        token = Grant.Token.new_from_serialized(data, -1) if data else None
        task.return_value(token)

    def do_load_finish(self, result):
        ok, token = result.propagate_value()
        return token

    def do_save_async(self, key, token, cancellable, callback, user_data):
        self.saves += 1
        self.items[key.get_id()] = token.serialize()
        Gio.Task.new(self, cancellable, callback).return_boolean(True)

    def do_save_finish(self, result):
        return result.propagate_boolean()

    def do_clear_async(self, key, cancellable, callback, user_data):
        self.items.pop(key.get_id(), None)
        Gio.Task.new(self, cancellable, callback).return_boolean(True)

    def do_clear_finish(self, result):
        return result.propagate_boolean()


class Endpoint:
    def __init__(self):
        self.requests = 0
        self.server = Soup.Server()
        self.server.listen_local(0, Soup.ServerListenOptions.IPV4_ONLY)
        self.server.add_handler('/token', self.handle)
        self.token_url = 'http://127.0.0.1:%d/token' % self.server.get_uris()[0].get_port()

    def handle(self, server, msg, path, query):
        self.requests += 1
        data = json.dumps({'access_token': 'stored-%d' % self.requests,
                           'expires_in': 3600}).encode()
        msg.set_status(200, None)
        msg.set_response('application/json', Soup.MemoryUse.COPY, data)


class StoreTest(unittest.TestCase):
    def get_token(self, provider):
        loop = GLib.MainLoop()
        result = {}

        def done(source, res):
            try:
                result['token'] = source.get_token_finish(res)
            except GLib.Error as error:
                result['error'] = error
            loop.quit()

        provider.get_token_async(None, done)
        GLib.timeout_add_seconds(20, loop.quit)
        loop.run()
        self.assertNotIn('error', result)
        return result['token']

    def provider(self, endpoint, store):
        provider = Grant.TokenProvider.new(endpoint.token_url, 'py-client', 'py-secret')
        provider.props.auto_refresh = False
        provider.props.store = store
        return provider

    def test_python_store(self):
        endpoint = Endpoint()
        store = DictStore()

        first = self.get_token(self.provider(endpoint, store))
        self.assertEqual(first.props.access_token, 'stored-1')
        self.assertEqual(store.saves, 1)
        self.assertEqual(len(store.items), 1)
        # Never the client secret.
        self.assertNotIn('py-secret', next(iter(store.items.values())))

        # A new provider (a restart) takes the stored token.
        second_provider = self.provider(endpoint, store)
        second = self.get_token(second_provider)
        self.assertEqual(second.props.access_token, 'stored-1')
        self.assertEqual(endpoint.requests, 1)
        self.assertGreaterEqual(store.loads, 2)

        # Invalidating removes it from the store.
        second_provider.invalidate(second)
        context = GLib.MainContext.default()
        for _ in range(100):
            if not store.items:
                break
            context.iteration(True)
        self.assertEqual(store.items, {})

    def test_file_store_from_python(self):
        endpoint = Endpoint()
        directory = GLib.dir_make_tmp('grant-py-XXXXXX')
        store = Grant.FileStore.new(directory)
        self.assertEqual(store.get_directory(), directory)
        self.get_token(self.provider(endpoint, store))
        self.get_token(self.provider(endpoint, store))
        self.assertEqual(endpoint.requests, 1)


if __name__ == '__main__':
    unittest.main(verbosity=2)
