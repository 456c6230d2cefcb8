#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""TLS against a real TLS 1.3 server on 127.0.0.1 that issues session
tickets (tests/tls-server.py): libgrant writes no client credentials and no
bearer token on a connection whose certificate its session would not
accept, even when GnuTLS resumes a session that another session verified,
and a refused certificate's error says why.

In Python, not C: glib-networking 2.74 never resumes a TLS session in a
process that called g_test_init(), which every C test does."""

import json
import os
import shutil
import subprocess
import tempfile
import threading
import unittest

import gi

gi.require_version('Grant', '1.0')
gi.require_version('Soup', '3.0')
from gi.repository import Gio, GLib, Grant, Soup  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
SECRET = 'tls-test-secret'


def openssl(*args):
    subprocess.run(('openssl',) + args, check=True, capture_output=True)


def self_signed(directory, name, subject, san):
    key = os.path.join(directory, name + '-key.pem')
    cert = os.path.join(directory, name + '.pem')
    openssl('req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes',
            '-days', '2', '-subj', subject, '-addext', 'subjectAltName=' + san,
            '-keyout', key, '-out', cert)
    return cert, key


def expired(directory):
    """A certificate for 127.0.0.1 that expired in 2020, signed by a CA;
    returns (chain, key, CA)."""
    ca, ca_key = self_signed(directory, 'ca', '/CN=test-ca', 'DNS:test-ca')
    key = os.path.join(directory, 'expired-key.pem')
    csr = os.path.join(directory, 'expired.csr')
    leaf = os.path.join(directory, 'expired.pem')
    openssl('req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes',
            '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1',
            '-keyout', key, '-out', csr)
    config = os.path.join(directory, 'ca.cnf')
    with open(config, 'w') as f:
        f.write('[ca]\ndefault_ca = test\n[test]\n'
                'database = %s/index.txt\nnew_certs_dir = %s\nserial = %s/serial\n'
                'default_md = sha256\npolicy = any\ncopy_extensions = copy\n'
                '[any]\ncommonName = supplied\n' % (directory, directory, directory))
    open(os.path.join(directory, 'index.txt'), 'w').close()
    with open(os.path.join(directory, 'serial'), 'w') as f:
        f.write('01\n')
    openssl('ca', '-batch', '-notext', '-config', config, '-cert', ca, '-keyfile', ca_key,
            '-in', csr, '-startdate', '20200101000000Z', '-enddate', '20200102000000Z',
            '-out', leaf)
    chain = os.path.join(directory, 'expired-chain.pem')
    with open(chain, 'w') as out:
        for path in (leaf, ca):
            with open(path) as f:
                out.write(f.read())
    return chain, key, ca


class TlsServer:
    def __init__(self, cert, key, client_ca=None):
        self.process = subprocess.Popen(['/usr/bin/python3', os.path.join(HERE, '..', 'tls-server.py'),
                                         cert, key] + ([client_ca] if client_ca else []),
                                        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        port, control = self.process.stdout.readline().split()
        self.token_url = 'https://127.0.0.1:%s/token' % port
        self.api_url = 'https://127.0.0.1:%s/api' % port
        self.control_url = 'http://127.0.0.1:%s/' % control

    def counts(self):
        message = Soup.Message.new('GET', self.control_url)
        return json.loads(Soup.Session().send_and_read(message, None).get_data())

    def stop(self):
        self.process.stdin.close()
        self.process.wait(timeout=10)


class TokenEndpoint:
    """A plain token endpoint on 127.0.0.1, on its own thread, for the API
    tests: the token does not come from the TLS server."""

    def __init__(self):
        started = threading.Event()
        self.context = GLib.MainContext.new()
        self.loop = GLib.MainLoop.new(self.context, False)

        def run():
            self.context.push_thread_default()
            self.server = Soup.Server()
            self.server.listen_local(0, Soup.ServerListenOptions.IPV4_ONLY)
            self.server.add_handler('/token', self.handle)
            self.token_url = 'http://127.0.0.1:%d/token' % self.server.get_uris()[0].get_port()
            started.set()
            self.loop.run()
            self.server.disconnect()
            self.context.pop_thread_default()

        self.thread = threading.Thread(target=run)
        self.thread.start()
        started.wait()

    def handle(self, server, msg, path, query):
        data = b'{"access_token":"api-token","token_type":"Bearer","expires_in":3600}'
        msg.set_status(200, None)
        msg.set_response('application/json', Soup.MemoryUse.COPY, data)

    def stop(self):
        self.loop.quit()
        self.thread.join()


def session_trusting(ca):
    if ca is None:
        return Soup.Session()
    return Soup.Session(tls_database=Gio.TlsFileDatabase.new(ca))


def provider_for(url, session):
    return Grant.TokenProvider(token_url=url, client_id='tls-client', client_secret=SECRET,
                               session=session, auto_refresh=False, max_attempts=1)


def wait(start):
    """Runs start(callback) and the default main context until it calls back."""
    loop = GLib.MainLoop()
    out = {}

    def done(source, result):
        out['source'], out['result'] = source, result
        loop.quit()

    start(done)
    loop.run()
    return out['source'], out['result']


class TlsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        if shutil.which('openssl') is None:
            raise unittest.SkipTest('openssl makes the test certificates')
        cls.dir = tempfile.mkdtemp(prefix='grant-tls-')
        cls.cert, cls.key = self_signed(cls.dir, 'server', '/CN=127.0.0.1', 'IP:127.0.0.1')
        cls.other, _ = self_signed(cls.dir, 'other', '/CN=127.0.0.1', 'IP:127.0.0.1')

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.dir)

    def setUp(self):
        self.server = TlsServer(self.cert, self.key)

    def tearDown(self):
        self.server.stop()

    def assert_refused(self, error, *reasons):
        self.assertTrue(error.matches(Gio.tls_error_quark(), Gio.TlsError.BAD_CERTIFICATE), error)
        for reason in reasons:
            self.assertIn(reason, error.message)
        self.assertNotIn(SECRET, error.message)

    def test_token_requests_keep_their_trust(self):
        trusting = session_trusting(self.cert)
        refusing = [session_trusting(None), session_trusting(self.other)]

        for round in range(3):
            before = self.server.counts()['token']
            provider = provider_for(self.server.token_url, trusting)
            self.assertEqual(provider.get_token(None).get_access_token(), 'tls-token')
            self.assertEqual(self.server.counts()['token'], before + 1)

            for session in refusing:
                provider = provider_for(self.server.token_url, session)
                with self.assertRaises(GLib.Error) as caught:
                    provider.get_token(None)
                self.assert_refused(caught.exception, 'not signed by an authority the session trusts')
                # Asynchronously too.
                source, result = wait(lambda done: provider.get_token_async(None, done))
                with self.assertRaises(GLib.Error) as caught:
                    provider.get_token_finish(result)
                self.assert_refused(caught.exception)
                self.assertEqual(self.server.counts()['token'], before + 1)

        # What this guards against happened: sessions were resumed from the
        # first one's tickets, and still nothing was written.
        self.assertGreater(self.server.counts()['resumed'], 0)

    def test_api_requests_keep_their_trust(self):
        endpoint = TokenEndpoint()
        try:
            trusting = session_trusting(self.cert)
            # The trusting session talks to the API first: its ticket is in
            # the process's cache.
            message = Soup.Message.new('GET', self.server.api_url)
            trusting.send_and_read(message, None)
            self.assertEqual(message.get_status(), 200)

            for session in (session_trusting(None), session_trusting(self.other)):
                provider = provider_for(endpoint.token_url, session)
                before = self.server.counts()

                # send_async: the request is not sent.
                message = Soup.Message.new('GET', self.server.api_url)
                source, result = wait(lambda done: provider.send_async(None, message, GLib.PRIORITY_DEFAULT,
                                                                       None, done))
                with self.assertRaises(GLib.Error) as caught:
                    provider.send_finish(result)
                self.assert_refused(caught.exception, 'not signed by an authority the session trusts')

                # authorize_message, then the application's own send through
                # the same session: the token is taken off first.
                message = Soup.Message.new('GET', self.server.api_url)
                source, result = wait(lambda done: provider.authorize_message_async(message, None, done))
                provider.authorize_message_finish(result)
                try:
                    session.send_and_read(message, None)
                except GLib.Error:
                    pass
                self.assertIsNone(message.get_request_headers().get_one('Authorization'))

                after = self.server.counts()
                self.assertEqual(after['authorized'], before['authorized'])

            # An application that accepts the certificate for its own
            # request, as it could in a full handshake, still may.
            session = session_trusting(self.other)
            provider = provider_for(endpoint.token_url, session)
            message = Soup.Message.new('GET', self.server.api_url)
            message.connect('accept-certificate', lambda *args: True)
            before = self.server.counts()['authorized']
            source, result = wait(lambda done: provider.send_async(None, message, GLib.PRIORITY_DEFAULT,
                                                                   None, done))
            provider.send_finish(result)
            self.assertEqual(message.get_status(), 200)
            self.assertEqual(self.server.counts()['authorized'], before + 1)
            self.assertGreater(self.server.counts()['resumed'], 0)
        finally:
            endpoint.stop()

    def refused_by(self, cert, key, trust):
        server = TlsServer(cert, key)
        try:
            provider = provider_for(server.token_url, session_trusting(trust))
            with self.assertRaises(GLib.Error) as caught:
                provider.get_token(None)
            self.assertEqual(server.counts()['token'], 0)
            return caught.exception
        finally:
            server.stop()

    def test_errors_say_why(self):
        self.assert_refused(self.refused_by(self.cert, self.key, None),
                            'The certificate of 127.0.0.1 is not acceptable',
                            'not signed by an authority the session trusts')
        wrong, wrong_key = self_signed(self.dir, 'wrong', '/CN=elsewhere.example', 'DNS:elsewhere.example')
        self.assert_refused(self.refused_by(wrong, wrong_key, wrong), 'it is for another host name')
        chain, key, ca = expired(self.dir)
        self.assert_refused(self.refused_by(chain, key, ca), 'it has expired')


class MutualTlsTest(unittest.TestCase):
    """Mutual TLS (RFC 8705): the provider's certificate is presented on the
    token request, also in a process and on a session that already talked
    TLS to the server without one."""

    @classmethod
    def setUpClass(cls):
        if shutil.which('openssl') is None:
            raise unittest.SkipTest('openssl makes the test certificates')
        cls.dir = tempfile.mkdtemp(prefix='grant-mtls-')
        cls.cert, cls.key = self_signed(cls.dir, 'server', '/CN=127.0.0.1', 'IP:127.0.0.1')
        cls.client, cls.client_key = self_signed(cls.dir, 'client', '/CN=tls-client', 'DNS:tls-client')
        cls.other, cls.other_key = self_signed(cls.dir, 'other-client', '/CN=tls-client', 'DNS:tls-client')
        # The server trusts both client certificates.
        cls.client_ca = os.path.join(cls.dir, 'clients.pem')
        with open(cls.client_ca, 'w') as out:
            for path in (cls.client, cls.other):
                with open(path) as f:
                    out.write(f.read())

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.dir)

    def setUp(self):
        self.server = TlsServer(self.cert, self.key, self.client_ca)

    def tearDown(self):
        self.server.stop()

    @staticmethod
    def sha256(path):
        der = subprocess.run(['openssl', 'x509', '-in', path, '-outform', 'der'],
                             check=True, capture_output=True).stdout
        import hashlib
        return hashlib.sha256(der).hexdigest()

    def provider(self, session, certificate, method=Grant.AuthMethod.TLS_CLIENT_AUTH):
        provider = provider_for(self.server.token_url, session)
        provider.set_auth_method(method)
        if certificate is not None:
            provider.set_tls_certificate(certificate)
        return provider

    def test_certificate_presented(self):
        session = session_trusting(self.cert)
        # The application talked to the server first, without a certificate:
        # its ticket is in the process's cache and its connection is idle.
        message = Soup.Message.new('GET', self.server.api_url)
        session.send_and_read(message, None)
        self.assertEqual(message.get_status(), 200)

        certificate = Gio.TlsCertificate.new_from_files(self.client, self.client_key)
        provider = self.provider(session, certificate)
        self.assertEqual(provider.get_token(None).get_access_token(), 'tls-token')
        last = self.server.counts()['last_token']
        self.assertEqual(last['client_cert'], self.sha256(self.client))
        self.assertEqual(last['fields'].get('client_id'), 'tls-client')
        self.assertNotIn('client_secret', last['fields'])
        self.assertFalse(last['authorization'])

        # Again, asynchronously, on a new provider: the certificate is
        # presented again (a resumed session never asks for it).
        provider = self.provider(session, certificate, Grant.AuthMethod.SELF_SIGNED_TLS_CLIENT_AUTH)
        source, result = wait(lambda done: provider.get_token_async(None, done))
        provider.get_token_finish(result)
        self.assertEqual(self.server.counts()['last_token']['client_cert'], self.sha256(self.client))

    def test_api_requests_present_the_certificate(self):
        """A token bound to the certificate is good only with it: send_async
        presents it, on the provider's session as on the caller's, though
        that session holds an idle connection made without it."""
        session = session_trusting(self.cert)
        message = Soup.Message.new('GET', self.server.api_url)
        session.send_and_read(message, None)
        self.assertIsNone(self.server.counts()['last_api_client_cert'])

        certificate = Gio.TlsCertificate.new_from_files(self.client, self.client_key)
        provider = self.provider(session, certificate)
        for caller_session in (None, session, None):
            message = Soup.Message.new('GET', self.server.api_url)
            source, result = wait(lambda done: provider.send_async(caller_session, message,
                                                                   GLib.PRIORITY_DEFAULT, None, done))
            provider.send_finish(result)
            self.assertEqual(message.get_status(), 200)
            self.assertEqual(self.server.counts()['last_api_client_cert'], self.sha256(self.client))

    def test_discovery_mtls_alias(self):
        base = self.server.token_url[:-len('/token')]
        provider = Grant.TokenProvider(client_id='tls-client', issuer=base,
                                       session=session_trusting(self.cert), auto_refresh=False,
                                       max_attempts=1, auth_method=Grant.AuthMethod.TLS_CLIENT_AUTH,
                                       tls_certificate=Gio.TlsCertificate.new_from_files(self.client,
                                                                                         self.client_key))
        self.assertEqual(provider.get_token(None).get_access_token(), 'tls-token')
        counts = self.server.counts()
        self.assertEqual(counts['not_mtls'], 0)
        self.assertEqual(counts['last_token']['client_cert'], self.sha256(self.client))

    def test_command_line(self):
        """grant-token --tls-certificate, --ca-file, --auth-method tls_client_auth."""
        tool = os.environ.get('GRANT_TOKEN_TOOL')
        if tool is None:
            self.skipTest('GRANT_TOKEN_TOOL names the built grant-token')
        both = os.path.join(self.dir, 'client-both.pem')
        with open(both, 'w') as out:
            for path in (self.client, self.client_key):
                with open(path) as f:
                    out.write(f.read())
        env = dict(os.environ)
        env.pop('GRANT_CLIENT_SECRET', None)
        run = subprocess.run([tool, '--token-url', self.server.token_url, '--client-id', 'tls-client',
                              '--auth-method', 'tls_client_auth', '--tls-certificate', both,
                              '--ca-file', self.cert],
                             capture_output=True, text=True, env=env, timeout=30)
        self.assertEqual(run.returncode, 0, run.stderr)
        self.assertEqual(run.stdout.strip(), 'tls-token')
        self.assertEqual(self.server.counts()['last_token']['client_cert'], self.sha256(self.client))

        # Without --ca-file the server is not trusted; a bad file is a usage error.
        run = subprocess.run([tool, '--token-url', self.server.token_url, '--client-id', 'tls-client',
                              '--auth-method', 'tls_client_auth', '--tls-certificate', both],
                             capture_output=True, text=True, env=env, timeout=30)
        self.assertNotEqual(run.returncode, 0)
        self.assertIn('not signed by an authority', run.stderr)
        run = subprocess.run([tool, '--token-url', self.server.token_url, '--client-id', 'tls-client',
                              '--auth-method', 'tls_client_auth', '--tls-certificate', '/nonexistent'],
                             capture_output=True, text=True, env=env, timeout=30)
        self.assertNotEqual(run.returncode, 0)
        self.assertIn('--tls-certificate /nonexistent', run.stderr)

    def test_without_certificate(self):
        provider = self.provider(session_trusting(self.cert), None)
        with self.assertRaises(GLib.Error) as caught:
            provider.get_token(None)
        self.assertTrue(caught.exception.matches(Grant.error_quark(), Grant.Error.INVALID_CONFIGURATION))
        self.assertIn('tls-certificate', caught.exception.message)
        self.assertEqual(self.server.counts()['token'], 0)

    def test_tokens_kept_per_certificate(self):
        store_dir = tempfile.mkdtemp(prefix='grant-mtls-store-', dir=self.dir)
        store = Grant.FileStore.new(store_dir)
        session = session_trusting(self.cert)
        first = self.provider(session, Gio.TlsCertificate.new_from_files(self.client, self.client_key))
        first.set_store(store)
        first.get_token(None)
        self.assertEqual(self.server.counts()['token'], 1)

        # Same client, same request, another certificate: not the stored token.
        second = self.provider(session, Gio.TlsCertificate.new_from_files(self.other, self.other_key))
        second.set_store(store)
        second.get_token(None)
        self.assertEqual(self.server.counts()['token'], 2)
        self.assertEqual(self.server.counts()['last_token']['client_cert'], self.sha256(self.other))

        # The first certificate's token is still there for it.
        third = self.provider(session, Gio.TlsCertificate.new_from_files(self.client, self.client_key))
        third.set_store(store)
        third.get_token(None)
        self.assertEqual(self.server.counts()['token'], 2)


if __name__ == '__main__':
    unittest.main()
