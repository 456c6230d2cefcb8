// SPDX-License-Identifier: LGPL-2.1-or-later
//
// Grant from GJS: presets and properties, promises through Gio._promisify,
// signals and their arguments, cancellation, invalidate, a token store
// written in JavaScript, and the write-only secret.

import GLib from 'gi://GLib';
import Gio from 'gi://Gio';
import GObject from 'gi://GObject';
import Grant from 'gi://Grant?version=1.0';
import Soup from 'gi://Soup?version=3.0';
import System from 'system';

Gio._promisify(Grant.TokenProvider.prototype, 'get_token_async', 'get_token_finish');
Gio._promisify(Grant.TokenProvider.prototype, 'send_and_read_async', 'send_and_read_finish');

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

class Endpoint {
    constructor() {
        this.requests = 0;
        this.server = new Soup.Server();
        this.server.listen_local(0, Soup.ServerListenOptions.IPV4_ONLY);
        this.server.add_handler('/token', (_server, msg) => this.handle(msg));
        this.server.add_handler('/api', (_server, msg) => this.handleApi(msg));
        this.tokenUrl = `http://127.0.0.1:${this.server.get_uris()[0].get_port()}/token`;
        this.apiUrl = `http://127.0.0.1:${this.server.get_uris()[0].get_port()}/api`;
        this.revoked = new Set();
        this.apiRequests = 0;
    }

    // The API takes the endpoint's tokens, until they are revoked.
    handleApi(msg) {
        this.apiRequests++;
        const auth = msg.get_request_headers().get_one('Authorization') ?? '';
        const token = auth.replace(/^Bearer /, '');
        const ok = token.startsWith('js-token-') && !this.revoked.has(token);
        msg.set_status(ok ? 200 : 401, null);
        msg.set_response('application/json', Soup.MemoryUse.COPY,
            new TextEncoder().encode(JSON.stringify(ok ? {members: [token]} : {error: 'invalid_token'})));
    }

    handle(msg) {
        this.requests++;
        const body = new TextDecoder().decode(msg.get_request_body().flatten().toArray());
        const form = Soup.form_decode(body);
        let status, answer;
        if (form.client_id === 'js-client' && form.client_secret === 'js secret' &&
            form.grant_type === 'client_credentials') {
            status = 200;
            answer = {access_token: `js-token-${this.requests}`, expires_in: 3600, scope: form.scope};
        } else {
            status = 401;
            answer = {error: 'invalid_client', error_description: 'Unknown JS client'};
        }
        msg.set_status(status, null);
        msg.set_response('application/json', Soup.MemoryUse.COPY, new TextEncoder().encode(JSON.stringify(answer)));
    }
}

// A store in JavaScript. GJS 1.74 cannot implement virtual methods that take
// a callback, so it implements the quick synchronous ones, which the
// interface's default asynchronous methods call.
const JsStore = GObject.registerClass({
    Implements: [Grant.TokenStore],
}, class JsStore extends GObject.Object {
    constructor() {
        super();
        this.items = new Map();
    }

    vfunc_load(key, _cancellable) {
        const data = this.items.get(key.get_id());
        return data ? Grant.Token.new_from_serialized(data, -1) : null;
    }

    vfunc_save(key, token, _cancellable) {
        this.items.set(key.get_id(), token.serialize());
        return true;
    }

    vfunc_clear(key, _cancellable) {
        this.items.delete(key.get_id());
        return true;
    }
});

async function testPropertiesAndSignals() {
    const endpoint = new Endpoint();
    const provider = new Grant.TokenProvider({
        token_url: endpoint.tokenUrl,
        client_id: 'js-client',
        client_secret: 'js secret',
        scope: 'read',
    });
    const refreshed = [];
    provider.connect('token-refreshed', (_p, token) => refreshed.push(token));

    const token = await provider.get_token_async(null);
    check(token.access_token === 'js-token-1', 'a token through a promise');
    check(token.get_token_type() === 'Bearer', 'Bearer by default');
    check(token.scope === 'read', 'the scope granted');
    check(token.dup_authorization() === 'Bearer js-token-1', 'the Authorization value');
    check(refreshed.length === 1 && refreshed[0] === token, 'token-refreshed with the token');
    check(provider.peek_token() === token && provider.token === token, 'cached');

    const again = await provider.get_token_async(null);
    check(again === token && endpoint.requests === 1, 'from the cache');

    provider.invalidate(token);
    check(provider.peek_token() === null, 'invalidate drops it');
    const second = await provider.get_token_async(null);
    check(second.access_token === 'js-token-2', 'a new one after invalidate');
}

async function testErrorSignal() {
    const endpoint = new Endpoint();
    const provider = Grant.TokenProvider.new(endpoint.tokenUrl, 'js-client', 'wrong');
    const failed = [];
    provider.connect('refresh-failed', (_p, error) => failed.push(error));
    try {
        await provider.get_token_async(null);
        check(false, 'a wrong secret fails');
    } catch (error) {
        check(error.matches(Grant.error_quark(), Grant.Error.INVALID_CLIENT), 'Grant.Error.INVALID_CLIENT');
        check(error.message.includes('Unknown JS client') && !error.message.includes('wrong'),
            'the description, not the secret');
    }
    check(failed.length === 1 && failed[0].matches(Grant.error_quark(), Grant.Error.INVALID_CLIENT),
        'refresh-failed with the GError');
}

async function testCancellation() {
    const endpoint = new Endpoint();
    const provider = Grant.TokenProvider.new(endpoint.tokenUrl, 'js-client', 'js secret');
    const cancellable = new Gio.Cancellable();
    cancellable.cancel();
    try {
        await provider.get_token_async(cancellable);
        check(false, 'cancelled');
    } catch (error) {
        check(error.matches(Gio.IOErrorEnum, Gio.IOErrorEnum.CANCELLED), 'cancelled');
    }
    check(endpoint.requests === 0, 'no request when cancelled first');
}

async function testPreset() {
    const endpoint = new Endpoint();
    const provider = Grant.TokenProvider.new_from_preset('officernd', 'js-client', 'js secret');
    check(provider.scope === 'officernd.api.read officernd.api.write', 'the preset scope');
    check(Grant.Dialect.list_presets().includes('expertfile'), 'presets listed');
    provider.token_url = endpoint.tokenUrl;
    const token = await provider.get_token_async(null);
    check(token.scope === 'officernd.api.read officernd.api.write', 'a token with the preset');
}

async function testStore() {
    const endpoint = new Endpoint();
    const store = new JsStore();
    const make = () => {
        const provider = Grant.TokenProvider.new(endpoint.tokenUrl, 'js-client', 'js secret');
        provider.auto_refresh = false;
        provider.store = store;
        return provider;
    };

    const first = await make().get_token_async(null);
    check(store.items.size === 1, 'saved in the JavaScript store');
    check(![...store.items.values()][0].includes('js secret'), 'never the secret');
    const second = await make().get_token_async(null);
    check(second.access_token === first.access_token && endpoint.requests === 1,
        'a restart takes the stored token');
}

async function testSendAndRead() {
    const endpoint = new Endpoint();
    const provider = new Grant.TokenProvider({
        token_url: endpoint.tokenUrl, client_id: 'js-client', client_secret: 'js secret',
    });
    const message = Soup.Message.new('GET', endpoint.apiUrl);
    const body = await provider.send_and_read_async(null, message, GLib.PRIORITY_DEFAULT, null);
    const answer = JSON.parse(new TextDecoder().decode(body.toArray()));
    check(message.get_status() === 200 && answer.members[0] === 'js-token-1',
        'send_and_read_async gives the whole body');

    // A revoked token: a new one, and one more try.
    endpoint.revoked.add('js-token-1');
    const again = Soup.Message.new('GET', endpoint.apiUrl);
    const second = JSON.parse(new TextDecoder().decode(
        (await provider.send_and_read_async(null, again, GLib.PRIORITY_DEFAULT, null)).toArray()));
    check(again.get_status() === 200 && second.members[0] === 'js-token-2' &&
          endpoint.requests === 2 && endpoint.apiRequests === 3,
        'send_and_read_async gets another token after a 401');
}

function testWriteOnlySecret() {
    const provider = new Grant.TokenProvider({client_secret: 'hunter2'});
    let readable = true;
    try {
        readable = provider.client_secret !== undefined;
    } catch (e) {
        readable = false;
    }
    check(!readable, 'client-secret cannot be read');
    provider.client_secret = 'rotated';
}

const loop = new GLib.MainLoop(null, false);
(async () => {
    try {
        await testPropertiesAndSignals();
        await testErrorSignal();
        await testCancellation();
        await testPreset();
        await testStore();
        await testSendAndRead();
        testWriteOnlySecret();
    } catch (e) {
        failures++;
        print(`not ok ${++count} unexpected: ${e}\n${e.stack}`);
    }
    loop.quit();
})();
loop.run();
print(`1..${count}`);
System.exit(failures > 0 ? 1 : 0);
