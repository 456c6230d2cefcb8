#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""A Grant.TokenStore implemented in Python, used by a provider."""

import fcntl
import hashlib
import json
import os
import sys
import threading
import time
import unittest

import gi

gi.require_version('Grant', '1.0')
gi.require_version('Soup', '3.0')
from gi.repository import Gio, GLib, GObject, Grant, Soup  # noqa: E402

import testlib  # noqa: E402


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


class FileStore(GObject.Object, Grant.TokenStore):
    """Keeps each token in a file of a directory, with the synchronous
    vfuncs: a store other processes share, without a lock."""

    def __init__(self, directory):
        super().__init__()
        self.directory = directory

    def path(self, key, suffix=''):
        return os.path.join(self.directory, key.get_id() + suffix)

    def do_load(self, key, cancellable):
        try:
            with open(self.path(key)) as f:
                return Grant.Token.new_from_serialized(f.read(), -1)
        except FileNotFoundError:
            return None

    def do_save(self, key, token, cancellable):
        temporary = self.path(key, '.%d.tmp' % os.getpid())
        with open(temporary, 'w') as f:
            f.write(token.serialize())
        os.replace(temporary, self.path(key))
        return True

    def do_clear(self, key, cancellable):
        try:
            os.unlink(self.path(key))
        except FileNotFoundError:
            pass
        return True


class LockingFileStore(FileStore, Grant.TokenStore):
    """The same with a lock every process sharing the directory sees: an
    flock() taken without blocking the main loop, held by a plain GObject
    whose last unref closes the file and so releases it.

    Grant.TokenStore is named again so that the subclass gets an interface
    table of its own: otherwise PyGObject puts the lock into FileStore's
    table too.
    """

    def do_lock_async(self, key, cancellable, callback, user_data):
        task = Gio.Task.new(self, cancellable, callback)
        fd = os.open(self.path(key, '.lock'), os.O_RDWR | os.O_CREAT, 0o600)
        deadline = time.monotonic() + 20

        def attempt():
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                if cancellable is not None and cancellable.is_cancelled():
                    os.close(fd)
                    task.return_error(GLib.Error.new_literal(
                        Gio.io_error_quark(), 'Cancelled', Gio.IOErrorEnum.CANCELLED))
                    return GLib.SOURCE_REMOVE
                if time.monotonic() > deadline:
                    os.close(fd)
                    task.return_error(GLib.Error.new_literal(
                        Gio.io_error_quark(), 'Held too long', Gio.IOErrorEnum.TIMED_OUT))
                    return GLib.SOURCE_REMOVE
                return GLib.SOURCE_CONTINUE
            lock = GObject.Object()
            lock.weak_ref(os.close, fd)
            task.return_value(lock)
            return GLib.SOURCE_REMOVE

        if attempt() == GLib.SOURCE_CONTINUE:
            # On the caller's context: the blocking get_token() runs one
            # of its own, and GLib.timeout_add() would never fire there.
            source = GLib.timeout_source_new(5)
            source.set_callback(lambda *args: attempt())
            source.attach(GLib.MainContext.ref_thread_default())

    def do_lock_finish(self, result):
        ok, lock = result.propagate_value()
        return lock


def child(token_url, directory, locking, name):
    """One process: waits for the others, then asks for a token once and
    prints its digest (never the token)."""
    store = (LockingFileStore if locking == 'lock' else FileStore)(directory)
    provider = Grant.TokenProvider.new(token_url, 'py-client', 'py-secret')
    provider.props.auto_refresh = False
    provider.props.store = store
    loop = GLib.MainLoop()
    result = {}

    def done(source, res):
        try:
            token = source.get_token_finish(res)
            result['digest'] = hashlib.sha256(token.props.access_token.encode()).hexdigest()
        except GLib.Error as error:
            result['digest'] = 'error: ' + error.message
        loop.quit()

    open(os.path.join(directory, 'ready-' + name), 'w').close()
    while not os.path.exists(os.path.join(directory, 'go')):
        time.sleep(0.005)
    provider.get_token_async(None, done)
    loop.run()
    print(result['digest'])
    return 0


class Endpoint:
    def __init__(self):
        self.requests = 0
        self.server = Soup.Server()
        self.server.listen_local(0, Soup.ServerListenOptions.IPV4_ONLY)
        self.server.add_handler('/token', self.handle)
        self.token_url = 'http://127.0.0.1:%d/token' % self.server.get_uris()[0].get_port()

        self.hold_until = 0
        self.held = []

    def handle(self, server, msg, path, query):
        self.requests += 1
        data = json.dumps({'access_token': 'stored-%d' % self.requests,
                           'expires_in': 3600}).encode()
        msg.set_status(200, None)
        msg.set_response('application/json', Soup.MemoryUse.COPY, data)
        if self.hold_until:
            # Answers once hold_until requests are in, or after a while:
            # every process that asks without a lock asks before any answer.
            msg.pause()
            self.held.append(msg)
            if len(self.held) >= self.hold_until:
                self.release()
            elif len(self.held) == 1:
                GLib.timeout_add(1500, self.release)

    def release(self):
        for msg in self.held:
            msg.unpause()
        self.held = []
        return GLib.SOURCE_REMOVE


class ThreadedEndpoint(Endpoint):
    """The same endpoint on a thread and main context of its own, for the
    blocking call, which iterates only its own context."""

    def __init__(self):
        started = threading.Event()
        self.context = GLib.MainContext.new()
        self.loop = GLib.MainLoop.new(self.context, False)

        def run():
            self.context.push_thread_default()
            Endpoint.__init__(self)
            started.set()
            self.loop.run()
            self.context.pop_thread_default()

        self.thread = threading.Thread(target=run)
        self.thread.start()
        started.wait()

    def stop(self):
        self.loop.quit()
        self.thread.join()


class StoreTest(unittest.TestCase):
    def get_token(self, provider):
        result = testlib.get_token(provider)
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

    def run_processes(self, locking, n=4):
        endpoint = Endpoint()
        endpoint.hold_until = 2
        directory = GLib.dir_make_tmp('grant-py-lock-XXXXXX')
        loop = GLib.MainLoop()
        outputs = []
        processes = []

        def finished(process, res):
            ok, out, err = process.communicate_utf8_finish(res)
            outputs.append(out.strip())
            if len(outputs) == n:
                loop.quit()

        for i in range(n):
            process = Gio.Subprocess.new(
                [sys.executable, __file__, '--child', endpoint.token_url, directory, locking, str(i)],
                Gio.SubprocessFlags.STDOUT_PIPE)
            process.communicate_utf8_async(None, None, finished)
            processes.append(process)

        def go():
            ready = [f for f in os.listdir(directory) if f.startswith('ready-')]
            if len(ready) < n:
                return GLib.SOURCE_CONTINUE
            open(os.path.join(directory, 'go'), 'w').close()
            return GLib.SOURCE_REMOVE

        GLib.timeout_add(5, go)
        timeout = GLib.timeout_add_seconds(40, loop.quit)
        loop.run()
        GLib.source_remove(timeout)
        for process in processes:
            self.assertTrue(process.get_if_exited() and process.get_exit_status() == 0)
        self.assertEqual(len(outputs), n)
        self.assertFalse(any(o.startswith('error') for o in outputs), outputs)
        return endpoint.requests, outputs

    def test_python_store_locks_across_processes(self):
        # Four processes at once, a lock written in Python: one request,
        # and all four have its token.
        requests, digests = self.run_processes('lock')
        self.assertEqual(requests, 1)
        self.assertEqual(len(set(digests)), 1)

    def test_python_store_without_lock(self):
        # The same store without the lock: the processes do not wait for
        # each other, so more than one asks the server.
        self.assertFalse(Grant.TokenStore.can_lock(FileStore('/nonexistent')))
        self.assertTrue(Grant.TokenStore.can_lock(LockingFileStore('/nonexistent')))
        requests, digests = self.run_processes('none')
        self.assertGreater(requests, 1)

    def test_blocking_call_waits_for_python_lock(self):
        # Another process holds the lock for a moment: the blocking call
        # waits for it (the store polls on the call's own main context),
        # then fetches.
        endpoint = ThreadedEndpoint()
        directory = GLib.dir_make_tmp('grant-py-block-XXXXXX')
        store = LockingFileStore(directory)
        provider = self.provider(endpoint, store)
        key = Grant.TokenKey.new(endpoint.token_url, 'py-client',
                                 Grant.AuthMethod.CLIENT_SECRET_POST, None, None)
        held = os.open(store.path(key, '.lock'), os.O_RDWR | os.O_CREAT, 0o600)
        fcntl.flock(held, fcntl.LOCK_EX)
        releaser = threading.Timer(0.3, os.close, (held,))
        started = time.monotonic()
        releaser.start()
        token = provider.get_token(None)
        releaser.join()
        self.assertGreaterEqual(time.monotonic() - started, 0.25)
        self.assertEqual(token.props.access_token, 'stored-1')
        self.assertEqual(endpoint.requests, 1)
        endpoint.stop()

    def test_file_store_from_python(self):
        endpoint = Endpoint()
        directory = GLib.dir_make_tmp('grant-py-XXXXXX')
        store = Grant.FileStore.new(directory)
        self.assertEqual(store.get_directory(), directory)
        self.get_token(self.provider(endpoint, store))
        self.get_token(self.provider(endpoint, store))
        self.assertEqual(endpoint.requests, 1)


if __name__ == '__main__':
    if len(sys.argv) == 6 and sys.argv[1] == '--child':
        sys.exit(child(*sys.argv[2:]))
    unittest.main(verbosity=2)
