#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""One provider shared by Python threads, as a service's thread pool does."""

import json
import threading
import unittest

from concurrent.futures import ThreadPoolExecutor

import gi

gi.require_version('Grant', '1.0')
gi.require_version('Soup', '3.0')
from gi.repository import GLib, Grant, Soup  # noqa: E402


class Endpoint:
    """A token endpoint on a thread and main context of its own: the
    blocking calls under test iterate no main context."""

    def __init__(self):
        self.lock = threading.Lock()
        self.requests = 0
        self.hold = threading.Event()
        self.held = []
        started = threading.Event()
        self.context = GLib.MainContext.new()
        self.loop = GLib.MainLoop.new(self.context, False)

        def run():
            self.context.push_thread_default()
            self.server = Soup.Server()
            self.server.listen_local(0, Soup.ServerListenOptions.IPV4_ONLY)
            self.server.add_handler('/token', self.handle)
            port = self.server.get_uris()[0].get_port()
            self.token_url = 'http://127.0.0.1:%d/token' % port
            started.set()
            self.loop.run()
            self.context.pop_thread_default()

        self.thread = threading.Thread(target=run)
        self.thread.start()
        started.wait()

    def handle(self, server, msg, path, query):
        with self.lock:
            self.requests += 1
            n = self.requests
        data = json.dumps({'access_token': 'py-thread-%d' % n, 'expires_in': 3600}).encode()
        msg.set_status(200, None)
        msg.set_response('application/json', Soup.MemoryUse.COPY, data)
        if self.hold.is_set():
            msg.pause()
            self.held.append(msg)

    def release(self):
        def unpause():
            self.hold.clear()
            for msg in self.held:
                msg.unpause()
            self.held = []
            return GLib.SOURCE_REMOVE
        self.context.invoke_full(GLib.PRIORITY_DEFAULT, unpause)

    def held_count(self):
        return len(self.held)

    def stop(self):
        self.loop.quit()
        self.thread.join()


class ThreadsTest(unittest.TestCase):
    def setUp(self):
        self.endpoint = Endpoint()
        self.provider = Grant.TokenProvider.new(self.endpoint.token_url, 'py-client', 'py-secret')
        self.provider.props.auto_refresh = False

    def tearDown(self):
        self.endpoint.stop()

    def test_thread_pool_shares_one_request(self):
        self.endpoint.hold.set()
        results = []

        def worker(n):
            return self.provider.get_token(None).props.access_token

        with ThreadPoolExecutor(max_workers=8) as pool:
            futures = [pool.submit(worker, n) for n in range(8)]
            while self.endpoint.held_count() < 1:
                threading.Event().wait(0.001)
            self.endpoint.release()
            results = [f.result(timeout=30) for f in futures]

        # Every thread joined the one request, or found its token cached.
        self.assertEqual(self.endpoint.requests, 1)
        self.assertEqual(set(results), {'py-thread-1'})

    def test_threads_invalidate_and_ask_again(self):
        errors = []

        def worker(n):
            for i in range(25):
                self.provider.invalidate(None)
                try:
                    token = self.provider.get_token(None)
                    if token.is_expired(0):
                        errors.append('expired')
                except GLib.Error as error:
                    errors.append(error.message)

        threads = [threading.Thread(target=worker, args=(n,)) for n in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
            self.assertFalse(thread.is_alive())
        self.assertEqual(errors, [])
        self.assertGreaterEqual(self.endpoint.requests, 1)
        self.assertLessEqual(self.endpoint.requests, 200)

    def test_signals_in_home_context(self):
        # The provider was made in this (the main) thread: its signals come
        # here, whoever asked.
        main = threading.current_thread()
        seen = []
        self.provider.connect('token-refreshed', lambda p, t: seen.append(threading.current_thread()))
        token = []
        worker = threading.Thread(target=lambda: token.append(self.provider.get_token(None)))
        worker.start()
        worker.join(timeout=30)
        self.assertEqual(len(token), 1)
        context = GLib.MainContext.default()
        for _ in range(1000):
            if seen:
                break
            context.iteration(True)
        self.assertEqual(seen, [main])

    def test_async_from_a_thread_completes_there(self):
        # A thread with a main loop of its own gets its callback there.
        result = {}

        def run():
            context = GLib.MainContext.new()
            context.push_thread_default()
            loop = GLib.MainLoop.new(context, False)

            def done(provider, res):
                result['thread'] = threading.current_thread()
                result['token'] = provider.get_token_finish(res)
                loop.quit()

            self.provider.get_token_async(None, done)
            loop.run()
            context.pop_thread_default()

        thread = threading.Thread(target=run)
        thread.start()
        thread.join(timeout=30)
        self.assertIs(result['thread'], thread)
        self.assertEqual(result['token'].props.access_token, 'py-thread-1')


if __name__ == '__main__':
    unittest.main(verbosity=2)
