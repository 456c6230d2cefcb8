// SPDX-License-Identifier: LGPL-2.1-or-later
//
// Grant.ClientKey and private_key_jwt from GJS: a generated key and one
// openssl made, their public JWKs, and the assertions a provider sends to
// a token endpoint here that reads them (their signatures are checked by a
// real server in test-interop): header and claims, a new jti for every
// request, the assertion audience, and a missing key.

import GLib from 'gi://GLib';
import Gio from 'gi://Gio';
import Grant from 'gi://Grant?version=1.0';
import Soup from 'gi://Soup?version=3.0';
import System from 'system';

Gio._promisify(Grant.TokenProvider.prototype, 'get_token_async', 'get_token_finish');

const ASSERTION_TYPE = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';

let failures = 0;
let count = 0;

function check(condition, what) {
    count++;
    if (condition) {
        print(`ok ${count} ${what}`);
    } else {
        failures++;
        print(`not ok ${count} ${what}`);
    }
}

function skip(what, why) {
    count++;
    print(`ok ${count} ${what} # SKIP ${why}`);
}

function b64urlDecode(part) {
    const b64 = part.replace(/-/g, '+').replace(/_/g, '/') + '='.repeat((4 - part.length % 4) % 4);
    return GLib.base64_decode(b64);
}

function decodeJson(part) {
    return JSON.parse(new TextDecoder().decode(b64urlDecode(part)));
}

// Records the form of every token request and answers with a token.
class Endpoint {
    constructor() {
        this.requests = [];
        this.server = new Soup.Server();
        this.server.listen_local(0, Soup.ServerListenOptions.IPV4_ONLY);
        this.server.add_handler('/token', (_server, msg) => this.handle(msg));
        this.tokenUrl = `http://127.0.0.1:${this.server.get_uris()[0].get_port()}/token`;
    }

    handle(msg) {
        const body = new TextDecoder().decode(msg.get_request_body().flatten().toArray());
        this.requests.push(Soup.form_decode(body));
        const answer = {access_token: `jwt-${this.requests.length}`, expires_in: 3600};
        msg.set_status(200, null);
        msg.set_response('application/json', Soup.MemoryUse.COPY, new TextEncoder().encode(JSON.stringify(answer)));
    }

    close() {
        this.server.disconnect();
    }
}

// Checks one request's assertion; returns its claims.
function checkAssertion(form, {alg, kid, clientId, audience, signatureLength}, what) {
    check(form.client_assertion_type === ASSERTION_TYPE, `${what}: client_assertion_type`);
    check(!('client_secret' in form), `${what}: no client_secret`);
    check(form.grant_type === 'client_credentials', `${what}: grant_type`);
    const parts = (form.client_assertion || '').split('.');
    check(parts.length === 3, `${what}: a compact JWS`);
    const header = decodeJson(parts[0]);
    const claims = decodeJson(parts[1]);
    const expected = kid === null ? {alg, typ: 'JWT'} : {alg, typ: 'JWT', kid};
    check(JSON.stringify(header, Object.keys(header).sort()) ===
          JSON.stringify(expected, Object.keys(expected).sort()),
    `${what}: header ${JSON.stringify(header)}`);
    check(claims.iss === clientId && claims.sub === clientId, `${what}: iss and sub are the client id`);
    check(claims.aud === audience, `${what}: aud ${claims.aud}`);
    check(claims.exp - claims.iat === 60, `${what}: exp - iat is 60`);
    check(Math.abs(claims.iat - Date.now() / 1000) < 60, `${what}: iat is now`);
    check(!('nbf' in claims), `${what}: no nbf`);
    check(typeof claims.jti === 'string' && claims.jti.length >= 16, `${what}: a jti`);
    if (signatureLength)
        check(b64urlDecode(parts[2]).length === signatureLength, `${what}: a ${signatureLength}-byte signature`);
    return claims;
}

function testGeneratedJwk() {
    const key = Grant.ClientKey.generate('ES256');
    check(key.algorithm === 'ES256' && key.get_algorithm() === 'ES256', 'generated: ES256');
    check(key.key_id === null, 'generated: no key id');
    key.key_id = 'gjs-key';
    check(key.dup_key_id() === 'gjs-key', 'key_id property and dup_key_id');
    const jwk = JSON.parse(key.dup_public_jwk());
    check(jwk.kty === 'EC' && jwk.crv === 'P-256', 'public JWK: EC on P-256');
    check(b64urlDecode(jwk.x).length === 32 && b64urlDecode(jwk.y).length === 32, 'public JWK: x and y');
    check(!('d' in jwk), 'public JWK: no private part');
    check(jwk.kid === 'gjs-key' && jwk.alg === 'ES256', 'public JWK: kid and alg');
    check(typeof key.thumbprint === 'string' && key.thumbprint.length === 43, 'a thumbprint');
    check(key.certificate === null, 'no certificate');

    const ed = JSON.parse(Grant.ClientKey.generate('EdDSA').dup_public_jwk());
    check(ed.kty === 'OKP' && ed.crv === 'Ed25519' && !('d' in ed), 'public JWK: OKP Ed25519');

    try {
        Grant.ClientKey.generate('HS256');
        check(false, 'HS256 is not a key algorithm');
    } catch (error) {
        check(error.matches(Grant.error_quark(), Grant.Error.INVALID_CONFIGURATION),
            'HS256 is not a key algorithm');
    }
}

async function testGeneratedKey() {
    const endpoint = new Endpoint();
    const key = Grant.ClientKey.generate('ES256');
    key.key_id = 'gjs-key';
    const provider = new Grant.TokenProvider({
        token_url: endpoint.tokenUrl,
        client_id: 'gjs-client',
        client_key: key,
        auth_method: Grant.AuthMethod.AUTO,
        auto_refresh: false,
    });
    check(provider.client_key === key, 'client_key property');

    const first = await provider.get_token_async(null);
    check(first.access_token === 'jwt-1', 'a token with private_key_jwt');
    provider.invalidate(null);
    const second = await provider.get_token_async(null);
    check(second.access_token === 'jwt-2', 'a second token');
    check(endpoint.requests.length === 2, 'two requests');

    const jtis = new Set();
    endpoint.requests.forEach((form, i) => {
        const claims = checkAssertion(form, {
            alg: 'ES256', kid: 'gjs-key', clientId: 'gjs-client',
            audience: endpoint.tokenUrl, signatureLength: 64,
        }, `generated key, request ${i + 1}`);
        jtis.add(claims.jti);
    });
    check(jtis.size === 2, 'a new jti for each request');
    endpoint.close();
}

async function testPemKey() {
    if (!GLib.find_program_in_path('openssl')) {
        skip('a key openssl made', 'no openssl');
        return;
    }
    const directory = GLib.Dir.make_tmp('grant-gjs-key-XXXXXX');
    const path = GLib.build_filenamev([directory, 'key.pem']);
    try {
        const [, , stderr, status] = GLib.spawn_command_line_sync(
            `openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out ${GLib.shell_quote(path)}`);
        check(status === 0, `openssl made a key${status === 0 ? '' : `: ${new TextDecoder().decode(stderr)}`}`);

        const key = Grant.ClientKey.new_from_file(path, null);
        check(key.algorithm === 'ES256', 'from a PEM file: ES256');
        const jwk = JSON.parse(key.dup_public_jwk());
        check(jwk.kty === 'EC' && jwk.crv === 'P-256' && !('d' in jwk), 'from a PEM file: the public JWK');

        const [, pem] = GLib.file_get_contents(path);
        const again = Grant.ClientKey.new_from_pem(new TextDecoder().decode(pem), -1, null);
        check(again.thumbprint === key.thumbprint, 'from PEM text: the same key');

        const endpoint = new Endpoint();
        const provider = new Grant.TokenProvider({
            token_url: endpoint.tokenUrl,
            client_id: 'gjs-pem-client',
            auth_method: Grant.AuthMethod.PRIVATE_KEY_JWT,
            auto_refresh: false,
        });
        provider.client_key = key;
        const token = await provider.get_token_async(null);
        check(token.access_token === 'jwt-1', 'a token with the PEM key');
        checkAssertion(endpoint.requests[0], {
            alg: 'ES256', kid: null, clientId: 'gjs-pem-client',
            audience: endpoint.tokenUrl, signatureLength: 64,
        }, 'PEM key');
        endpoint.close();
    } finally {
        GLib.unlink(path);
        GLib.rmdir(directory);
    }
}

async function testAudienceAndMissingKey() {
    const endpoint = new Endpoint();
    const provider = new Grant.TokenProvider({
        token_url: endpoint.tokenUrl,
        client_id: 'gjs-client',
        auth_method: Grant.AuthMethod.PRIVATE_KEY_JWT,
        auto_refresh: false,
        max_attempts: 1,
    });
    try {
        await provider.get_token_async(null);
        check(false, 'no key: fails');
    } catch (error) {
        check(error.matches(Grant.error_quark(), Grant.Error.INVALID_CONFIGURATION),
            'no key: Grant.Error.INVALID_CONFIGURATION');
        check(error.message.includes('client-key'), `no key: the message names client-key (${error.message})`);
    }
    check(endpoint.requests.length === 0, 'no key: no request');

    provider.client_key = Grant.ClientKey.generate('EdDSA');
    provider.assertion_audience = 'https://tenant.example.com/';
    check(provider.assertion_audience === 'https://tenant.example.com/', 'assertion_audience property');
    await provider.get_token_async(null);
    checkAssertion(endpoint.requests[0], {
        alg: 'EdDSA', kid: null, clientId: 'gjs-client',
        audience: 'https://tenant.example.com/', signatureLength: 64,
    }, 'assertion audience');
    endpoint.close();
}

const loop = new GLib.MainLoop(null, false);
(async () => {
    try {
        testGeneratedJwk();
        await testGeneratedKey();
        await testPemKey();
        await testAudienceAndMissingKey();
    } catch (e) {
        failures++;
        print(`not ok ${++count} unexpected: ${e}\n${e.stack}`);
    }
    loop.quit();
})();
loop.run();
print(`1..${count}`);
System.exit(failures > 0 ? 1 : 0);
