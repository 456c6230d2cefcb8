// SPDX-License-Identifier: LGPL-2.1-or-later
//
// Grant.ClientKey and private_key_jwt from GJS: a generated key and one
// openssl made, their public JWKs, and the assertions a provider sends to
// a token endpoint here that reads them (their signatures are checked by a
// real server in test-interop): header and claims, a new jti for every
// request, the assertion audience, and a missing key. And DPoP: proofs
// on token and API requests, the nonces servers ask for, proofs by hand.

import GLib from 'gi://GLib';
import Gio from 'gi://Gio';
import Grant from 'gi://Grant?version=1.0';
import Soup from 'gi://Soup?version=3.0';
import System from 'system';

Gio._promisify(Grant.TokenProvider.prototype, 'get_token_async', 'get_token_finish');
Gio._promisify(Grant.TokenProvider.prototype, 'send_async', 'send_finish');

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

function b64url(bytes) {
    return GLib.base64_encode(bytes).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

// base64url of the SHA-256 of text, as DPoP's ath.
function tokenHash(text) {
    const checksum = new GLib.Checksum(GLib.ChecksumType.SHA256);
    checksum.update(new TextEncoder().encode(text));
    const hex = checksum.get_string();
    const bytes = new Uint8Array(hex.length / 2);
    for (let i = 0; i < bytes.length; i++)
        bytes[i] = parseInt(hex.substr(i * 2, 2), 16);
    return b64url(bytes);
}

function decodeProof(proof) {
    const parts = (proof || '').split('.');
    if (parts.length !== 3)
        return {header: {}, claims: {}, signature: new Uint8Array(0)};
    return {header: decodeJson(parts[0]), claims: decodeJson(parts[1]), signature: b64urlDecode(parts[2])};
}

// A token endpoint and an API that read DPoP proofs and ask for nonces.
class DpopEndpoint {
    constructor() {
        this.tokenRequests = [];
        this.apiRequests = [];
        this.problems = [];
        this.tokens = 0;
        this.server = new Soup.Server();
        this.server.listen_local(0, Soup.ServerListenOptions.IPV4_ONLY);
        this.server.add_handler('/token', (_server, msg) => this.handleToken(msg));
        this.server.add_handler('/api', (_server, msg) => this.handleApi(msg));
        const base = `http://127.0.0.1:${this.server.get_uris()[0].get_port()}`;
        this.tokenUrl = `${base}/token`;
        this.apiUrl = `${base}/api`;
    }

    expect(condition, what) {
        if (!condition)
            this.problems.push(what);
        return condition;
    }

    // The request's proof, its header checked; its claims.
    proof(msg) {
        const {header, claims, signature} = decodeProof(msg.get_request_headers().get_one('DPoP'));
        this.expect(header.typ === 'dpop+jwt', `typ ${header.typ}`);
        this.expect(header.alg === 'ES256', `alg ${header.alg}`);
        this.expect(header.jwk && header.jwk.kty === 'EC' && !('d' in header.jwk), 'a public jwk');
        this.expect(signature.length === 64, 'a 64-byte signature');
        this.expect(typeof claims.jti === 'string' && claims.jti.length >= 16, 'a jti');
        this.expect(Math.abs(claims.iat - Date.now() / 1000) < 60, 'iat is now');
        return claims;
    }

    answer(msg, status, body, nonce, challenge) {
        msg.set_status(status, null);
        msg.get_response_headers().replace('DPoP-Nonce', nonce);
        if (challenge)
            msg.get_response_headers().replace('WWW-Authenticate', challenge);
        msg.set_response('application/json', Soup.MemoryUse.COPY, new TextEncoder().encode(JSON.stringify(body)));
    }

    handleToken(msg) {
        const claims = this.proof(msg);
        this.tokenRequests.push(claims);
        const form = Soup.form_decode(new TextDecoder().decode(msg.get_request_body().flatten().toArray()));
        this.expect(form.client_secret === 'gjs-secret', 'token: the client secret');
        if (!('nonce' in claims)) {
            this.answer(msg, 400, {error: 'use_dpop_nonce', error_description: 'nonce required'}, 'n-1');
            return;
        }
        if (!this.expect(claims.htm === 'POST', `token: htm ${claims.htm}`) |
            !this.expect(claims.htu === this.tokenUrl, `token: htu ${claims.htu}`) |
            !this.expect(claims.nonce === 'n-1', `token: nonce ${claims.nonce}`) |
            !this.expect(!('ath' in claims), 'token: no ath')) {
            this.answer(msg, 400, {error: 'invalid_dpop_proof'}, 'n-1');
            return;
        }
        this.tokens++;
        this.answer(msg, 200, {access_token: `dpop-token-${this.tokens}`, token_type: 'DPoP', expires_in: 3600}, 'n-2');
    }

    handleApi(msg) {
        const claims = this.proof(msg);
        this.apiRequests.push(claims);
        if (claims.nonce !== 'api-1') {
            this.answer(msg, 401, {}, 'api-1', 'DPoP error="use_dpop_nonce"');
            return;
        }
        const authorization = msg.get_request_headers().get_one('Authorization');
        if (!this.expect(authorization === 'DPoP dpop-token-1', `api: Authorization ${authorization}`) |
            !this.expect(claims.ath === tokenHash('dpop-token-1'), `api: ath ${claims.ath}`) |
            !this.expect(claims.htm === 'GET', `api: htm ${claims.htm}`) |
            !this.expect(claims.htu === this.apiUrl, `api: htu ${claims.htu}`)) {
            this.answer(msg, 403, {}, 'api-1');
            return;
        }
        this.answer(msg, 200, {ok: true}, 'api-1');
    }

    close() {
        this.server.disconnect();
    }
}

function dpopProvider(endpoint, key) {
    return new Grant.TokenProvider({
        token_url: endpoint.tokenUrl,
        client_id: 'gjs-client',
        client_secret: 'gjs-secret',
        dpop_key: key,
        auth_method: Grant.AuthMethod.CLIENT_SECRET_POST,
        auto_refresh: false,
        max_attempts: 1,
    });
}

async function testDpop() {
    const endpoint = new DpopEndpoint();
    const key = Grant.ClientKey.generate('ES256');
    const provider = dpopProvider(endpoint, key);
    check(provider.dpop_key === key && provider.get_dpop_key() === key, 'dpop: the dpop_key property');

    const token = await provider.get_token_async(null);
    check(endpoint.problems.length === 0, `dpop: token requests as expected ${endpoint.problems}`);
    check(token.access_token === 'dpop-token-1', 'dpop: a token');
    check(token.token_type === 'DPoP' && token.get_token_type() === 'DPoP', 'dpop: token type DPoP');
    check(token.dup_authorization() === 'DPoP dpop-token-1', 'dpop: authorization DPoP <token>');
    check(endpoint.tokenRequests.length === 2, `dpop: two token requests (${endpoint.tokenRequests.length})`);
    check(!('nonce' in endpoint.tokenRequests[0]) && endpoint.tokenRequests[1]?.nonce === 'n-1',
        'dpop: the second token request carries the nonce');

    const url = `${endpoint.apiUrl}?x=1`;
    for (const [round, expected] of [[1, 2], [2, 3]]) {
        const message = Soup.Message.new('GET', url);
        const stream = await provider.send_async(null, message, GLib.PRIORITY_DEFAULT, null);
        stream.close(null);
        check(message.get_status() === 200, `dpop: API request ${round}: 200 (${message.get_status()})`);
        check(endpoint.apiRequests.length === expected,
            `dpop: API request ${round}: ${expected} requests in all (${endpoint.apiRequests.length})`);
    }
    check(endpoint.problems.length === 0, `dpop: API requests as expected ${endpoint.problems}`);
    check(endpoint.tokenRequests.length === 2, 'dpop: no more token requests');
    check(new Set(endpoint.apiRequests.map(c => c.jti)).size === 3, 'dpop: a new jti for each API request');

    let {header, claims} = decodeProof(provider.create_dpop_proof('GET', url, token, null));
    check(header.typ === 'dpop+jwt' && !('d' in header.jwk), 'by hand: typ and a public jwk');
    const jwk = JSON.parse(key.dup_public_jwk());
    check(header.jwk.x === jwk.x && header.jwk.y === jwk.y, 'by hand: the key\'s jwk');
    check(claims.htm === 'GET' && claims.htu === endpoint.apiUrl, `by hand: htm and htu ${claims.htu}`);
    check(claims.nonce === 'api-1', `by hand: the remembered nonce (${claims.nonce})`);
    check(claims.ath === tokenHash('dpop-token-1'), 'by hand: ath');
    check(tokenHash('dpop-token-1') === b64url(new Uint8Array(
        GLib.compute_checksum_for_string(GLib.ChecksumType.SHA256, 'dpop-token-1', -1)
            .match(/../g).map(h => parseInt(h, 16)))), 'by hand: GLib.Checksum and compute_checksum_for_string agree');
    check(tokenHash('abc') === 'ungWv48Bz-pBQUDeXa4iI7ADYaOWF3qctBD_YfIAFa0', 'by hand: ath of a known text');

    provider.set_dpop_nonce(url, 'x');
    ({claims} = decodeProof(provider.create_dpop_proof('GET', url, token, null)));
    check(claims.nonce === 'x', `by hand: the nonce set (${claims.nonce})`);
    ({claims} = decodeProof(provider.create_dpop_proof('POST', url, null, 'given')));
    check(claims.htm === 'POST' && claims.nonce === 'given' && !('ath' in claims), 'by hand: a nonce given, no token');

    const plain = dpopProvider(endpoint, null);
    check(plain.dpop_key === null, 'no dpop key');
    try {
        plain.create_dpop_proof('GET', url, null, null);
        check(false, 'no dpop key: no proof');
    } catch (error) {
        check(error.matches(Grant.error_quark(), Grant.Error.INVALID_CONFIGURATION),
            'no dpop key: Grant.Error.INVALID_CONFIGURATION');
    }
    endpoint.close();
}

const loop = new GLib.MainLoop(null, false);
(async () => {
    try {
        testGeneratedJwk();
        await testGeneratedKey();
        await testPemKey();
        await testAudienceAndMissingKey();
        await testDpop();
    } catch (e) {
        failures++;
        print(`not ok ${++count} unexpected: ${e}\n${e.stack}`);
    }
    loop.quit();
})();
loop.run();
print(`1..${count}`);
System.exit(failures > 0 ? 1 : 0);
