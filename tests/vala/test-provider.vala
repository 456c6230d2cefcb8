/* test-provider.vala: Grant from Vala: presets and properties, yield,
 * signals with their arguments, cancellation, invalidate, a token store
 * written in Vala, and the write-only secret.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

int failures = 0;
int count = 0;

void check (bool condition, string what) {
    count++;
    if (condition) {
        print ("ok %d %s\n", count, what);
    } else {
        failures++;
        print ("not ok %d %s\n", count, what);
    }
}

class Endpoint : Object {
    public Soup.Server server;
    public string token_url;
    public string api_url;
    public int requests = 0;
    public int api_requests = 0;
    public string? revoked = null;

    public Endpoint () throws Error {
        server = new Soup.Server (null);
        server.listen_local (0, Soup.ServerListenOptions.IPV4_ONLY);
        server.add_handler ("/token", handle);
        server.add_handler ("/api", handle_api);
        token_url = "http://127.0.0.1:%d/token".printf (server.get_uris ().data.get_port ());
        api_url = "http://127.0.0.1:%d/api".printf (server.get_uris ().data.get_port ());
    }

    /* The API takes the endpoint's tokens, but the one revoked. */
    void handle_api (Soup.Server server, Soup.ServerMessage msg, string path, HashTable<string, string>? query) {
        api_requests++;
        var auth = msg.get_request_headers ().get_one ("Authorization") ?? "";
        var ok = auth.has_prefix ("Bearer vala-token-") && auth != "Bearer " + (revoked ?? "");
        msg.set_status (ok ? 200 : 401, null);
        var answer = ok ? "{\"member\":\"%s\"}".printf (auth.substring (7)) : "{\"error\":\"invalid_token\"}";
        msg.set_response ("application/json", Soup.MemoryUse.COPY, answer.data);
    }

    void handle (Soup.Server server, Soup.ServerMessage msg, string path, HashTable<string, string>? query) {
        requests++;
        var body = msg.get_request_body ().flatten ();
        var text = new StringBuilder ();
        text.append_len ((string) body.get_data (), (ssize_t) body.get_size ());
        var form = Soup.Form.decode (text.str);
        string answer;
        uint status;
        if (form.get ("client_id") == "vala-client" && form.get ("client_secret") == "vala secret") {
            status = 200;
            answer = "{\"access_token\":\"vala-token-%d\",\"expires_in\":3600}".printf (requests);
        } else {
            status = 401;
            answer = "{\"error\":\"invalid_client\",\"error_description\":\"Unknown Vala client\"}";
        }
        msg.set_status (status, null);
        msg.set_response ("application/json", Soup.MemoryUse.COPY, answer.data);
    }
}

/* A store in Vala, with the asynchronous methods. */
class MemoryStore : Object, Grant.TokenStore {
    public HashTable<string, string> items = new HashTable<string, string> (str_hash, str_equal);

    public async Grant.Token? load (Grant.TokenKey key, Cancellable? cancellable = null) throws Error {
        var data = items.get (key.get_id ());
        return data != null ? new Grant.Token.from_serialized (data, -1) : null;
    }

    public async bool save (Grant.TokenKey key, Grant.Token token, Cancellable? cancellable = null) throws Error {
        items.set (key.get_id (), token.serialize ());
        return true;
    }

    public async bool clear (Grant.TokenKey key, Cancellable? cancellable = null) throws Error {
        items.remove (key.get_id ());
        return true;
    }
}

async void test_properties_and_signals () throws Error {
    var endpoint = new Endpoint ();
    var provider = (Grant.TokenProvider) Object.new (typeof (Grant.TokenProvider),
        token_url: endpoint.token_url,
        client_id: "vala-client",
        client_secret: "vala secret");
    Grant.Token? refreshed = null;
    provider.token_refreshed.connect ((token) => { refreshed = token; });

    var token = yield provider.get_token ();
    check (token.access_token == "vala-token-1", "a token with yield");
    check (token.dup_authorization () == "Bearer vala-token-1", "the Authorization value");
    check (refreshed == token, "token-refreshed with the token");
    check (provider.peek_token () == token, "cached");

    var again = yield provider.get_token ();
    check (again == token && endpoint.requests == 1, "from the cache");

    provider.invalidate (token);
    check (provider.peek_token () == null, "invalidate drops it");
    var second = yield provider.get_token ();
    check (second.access_token == "vala-token-2", "a new one after invalidate");
}

async void test_error_signal () throws Error {
    var endpoint = new Endpoint ();
    var provider = new Grant.TokenProvider (endpoint.token_url, "vala-client", "wrong");
    Error? signalled = null;
    provider.refresh_failed.connect ((error) => { signalled = error.copy (); });
    try {
        yield provider.get_token ();
        check (false, "a wrong secret fails");
    } catch (Grant.Error.INVALID_CLIENT e) {
        check (true, "catch Grant.Error.INVALID_CLIENT");
        check ("Unknown Vala client" in e.message && !("wrong" in e.message), "the description, not the secret");
    }
    check (signalled is Grant.Error.INVALID_CLIENT, "refresh-failed with the GError");
}

async void test_cancellation () throws Error {
    var endpoint = new Endpoint ();
    var provider = new Grant.TokenProvider (endpoint.token_url, "vala-client", "vala secret");
    var cancellable = new Cancellable ();
    cancellable.cancel ();
    try {
        yield provider.get_token (cancellable);
        check (false, "cancelled");
    } catch (IOError.CANCELLED e) {
        check (true, "cancelled");
    }
    check (endpoint.requests == 0, "no request when cancelled first");
}

async void test_preset_and_store () throws Error {
    var endpoint = new Endpoint ();
    var store = new MemoryStore ();

    var first = new Grant.TokenProvider.from_preset ("smartdocumentor", "vala-client", "vala secret");
    check (first.scope == "WebAPI", "the preset scope");
    first.token_url = endpoint.token_url;
    first.auto_refresh = false;
    first.store = store;
    var token = yield first.get_token ();
    check (store.items.size () == 1, "saved in the Vala store");

    var second = new Grant.TokenProvider.from_preset ("smartdocumentor", "vala-client", "vala secret");
    second.token_url = endpoint.token_url;
    second.auto_refresh = false;
    second.store = store;
    var reloaded = yield second.get_token ();
    check (reloaded.access_token == token.access_token && endpoint.requests == 1,
           "a restart takes the stored token");
}

string text_of (Bytes bytes) {
    var text = new StringBuilder ();
    text.append_len ((string) bytes.get_data (), (ssize_t) bytes.get_size ());
    return text.str;
}

async void test_send_and_read () throws Error {
    var endpoint = new Endpoint ();
    var provider = new Grant.TokenProvider (endpoint.token_url, "vala-client", "vala secret");
    var message = new Soup.Message ("GET", endpoint.api_url);
    var body = yield provider.send_and_read (null, message);
    check (message.status_code == 200 && text_of (body) == "{\"member\":\"vala-token-1\"}",
           "send_and_read gives the whole body");

    /* A revoked token: a new one, and one more try. */
    endpoint.revoked = "vala-token-1";
    var again = new Soup.Message ("GET", endpoint.api_url);
    var second = yield provider.send_and_read (null, again);
    check (again.status_code == 200 && text_of (second) == "{\"member\":\"vala-token-2\"}"
           && endpoint.requests == 2 && endpoint.api_requests == 3,
           "send_and_read gets another token after a 401");
}

void test_write_only_secret () {
    var provider = new Grant.TokenProvider (null, null, "hunter2");
    var pspec = provider.get_class ().find_property ("client-secret");
    check ((pspec.flags & ParamFlags.WRITABLE) != 0 && (pspec.flags & ParamFlags.READABLE) == 0,
           "client-secret is write-only");
    provider.client_secret = "rotated";
}

async void run_all () {
    try {
        yield test_properties_and_signals ();
        yield test_error_signal ();
        yield test_cancellation ();
        yield test_preset_and_store ();
        yield test_send_and_read ();
        test_write_only_secret ();
    } catch (Error e) {
        check (false, "unexpected: " + e.message);
    }
}

int main () {
    var loop = new MainLoop ();
    run_all.begin ((obj, res) => {
        run_all.end (res);
        loop.quit ();
    });
    loop.run ();
    print ("1..%d\n", count);
    return failures > 0 ? 1 : 0;
}
