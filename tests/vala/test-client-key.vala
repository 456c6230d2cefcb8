/* test-client-key.vala: Grant.ClientKey and private_key_jwt from Vala: a
 * generated key and one openssl made, their public JWKs, and the
 * assertions a provider sends to a token endpoint here that reads them
 * (their signatures are checked by a real server in test-interop): header
 * and claims, a new jti for every request, the assertion audience, and a
 * missing key.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

const string ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

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

uint8[] b64url_decode (string part) {
    var b64 = part.replace ("-", "+").replace ("_", "/");
    while (b64.length % 4 != 0)
        b64 += "=";
    return Base64.decode (b64);
}

Json.Object decode_json (string part) throws Error {
    var bytes = b64url_decode (part);
    var text = new StringBuilder ();
    text.append_len ((string) bytes, bytes.length);
    var parser = new Json.Parser ();
    parser.load_from_data (text.str, (ssize_t) text.len);
    var root = parser.get_root ();
    if (root == null || root.get_node_type () != Json.NodeType.OBJECT)
        throw new IOError.INVALID_DATA ("not a JSON object: %s", text.str);
    return root.get_object ();
}

/* Records the form of every token request and answers with a token. */
class Endpoint : Object {
    public Soup.Server server;
    public string token_url;
    public GenericArray<HashTable<weak string, weak string>> requests =
        new GenericArray<HashTable<weak string, weak string>> ();

    public Endpoint () throws Error {
        server = (Soup.Server) Object.new (typeof (Soup.Server));
        server.listen_local (0, Soup.ServerListenOptions.IPV4_ONLY);
        server.add_handler ("/token", handle);
        token_url = "http://127.0.0.1:%d/token".printf (server.get_uris ().data.get_port ());
    }

    void handle (Soup.Server server, Soup.ServerMessage msg, string path, HashTable<string, string>? query) {
        var body = msg.get_request_body ().flatten ();
        var text = new StringBuilder ();
        text.append_len ((string) body.get_data (), (ssize_t) body.get_size ());
        requests.add (Soup.Form.decode (text.str));
        var answer = "{\"access_token\":\"jwt-%u\",\"expires_in\":3600}".printf (requests.length);
        msg.set_status (200, null);
        msg.set_response ("application/json", Soup.MemoryUse.COPY, answer.data);
    }

    /* The handler holds a reference to the endpoint: drop it. */
    public void close () {
        server.remove_handler ("/token");
        server.disconnect ();
    }
}

/* Checks one request's assertion; returns its jti. */
string check_assertion (HashTable<weak string, weak string> form, string alg, string? kid, string client_id,
                        string audience, string what) throws Error {
    check (form.get ("client_assertion_type") == ASSERTION_TYPE, what + ": client_assertion_type");
    check (!form.contains ("client_secret"), what + ": no client_secret");
    check (form.get ("grant_type") == "client_credentials", what + ": grant_type");
    var parts = (form.get ("client_assertion") ?? "").split (".");
    check (parts.length == 3, what + ": a compact JWS");
    if (parts.length != 3)
        return "";

    var header = decode_json (parts[0]);
    check (header.get_string_member_with_default ("alg", "") == alg, what + ": alg " + alg);
    check (header.get_string_member_with_default ("typ", "") == "JWT", what + ": typ JWT");
    if (kid != null)
        check (header.get_string_member_with_default ("kid", "") == kid, what + ": kid " + kid);
    else
        check (!header.has_member ("kid"), what + ": no kid");
    check (header.get_size () == (kid != null ? 3 : 2), what + ": nothing else in the header");

    var claims = decode_json (parts[1]);
    check (claims.get_string_member_with_default ("iss", "") == client_id &&
           claims.get_string_member_with_default ("sub", "") == client_id,
           what + ": iss and sub are the client id");
    var aud = claims.get_string_member_with_default ("aud", "");
    check (aud == audience, what + ": aud " + aud);
    var iat = claims.get_int_member_with_default ("iat", 0);
    var exp = claims.get_int_member_with_default ("exp", 0);
    check (exp - iat == 60, what + ": exp - iat is 60");
    check ((iat - get_real_time () / 1000000).abs () < 60, what + ": iat is now");
    check (!claims.has_member ("nbf"), what + ": no nbf");
    var jti = claims.get_string_member_with_default ("jti", "");
    check (jti.length >= 16, what + ": a jti");
    check (b64url_decode (parts[2]).length == 64, what + ": a 64-byte signature");
    return jti;
}

Json.Object parse_jwk (Grant.ClientKey key) throws Error {
    var parser = new Json.Parser ();
    parser.load_from_data (key.dup_public_jwk (), -1);
    return parser.get_root ().get_object ();
}

void test_generated_jwk () throws Error {
    var key = Grant.ClientKey.generate ("ES256");
    check (key.algorithm == "ES256" && key.get_algorithm () == "ES256", "generated: ES256");
    check (key.key_id == null, "generated: no key id");
    key.key_id = "vala-key";
    check (key.key_id == "vala-key" && key.dup_key_id () == "vala-key", "the key_id property");
    var jwk = parse_jwk (key);
    check (jwk.get_string_member ("kty") == "EC" && jwk.get_string_member ("crv") == "P-256",
           "public JWK: EC on P-256");
    check (b64url_decode (jwk.get_string_member ("x")).length == 32 &&
           b64url_decode (jwk.get_string_member ("y")).length == 32, "public JWK: x and y");
    check (!jwk.has_member ("d"), "public JWK: no private part");
    check (jwk.get_string_member ("kid") == "vala-key", "public JWK: kid");
    check (key.thumbprint.length == 43, "a thumbprint");
    check (key.certificate == null, "no certificate");

    var ed = parse_jwk (Grant.ClientKey.generate ("EdDSA"));
    check (ed.get_string_member ("kty") == "OKP" && ed.get_string_member ("crv") == "Ed25519" &&
           !ed.has_member ("d"), "public JWK: OKP Ed25519");

    try {
        Grant.ClientKey.generate ("HS256");
        check (false, "HS256 is not a key algorithm");
    } catch (Grant.Error.INVALID_CONFIGURATION e) {
        check (true, "HS256 is not a key algorithm");
    }
}

async void test_generated_key () throws Error {
    var endpoint = new Endpoint ();
    var key = Grant.ClientKey.generate ("ES256");
    key.key_id = "vala-key";
    var provider = new Grant.TokenProvider (endpoint.token_url, "vala-client", null);
    /* The default stays CLIENT_SECRET_POST; AUTO with a key signs. */
    provider.auth_method = Grant.AuthMethod.AUTO;
    provider.client_key = key;
    provider.auto_refresh = false;
    check (provider.client_key == key, "the client_key property");

    var first = yield provider.get_token ();
    check (first.access_token == "jwt-1", "a token with private_key_jwt");
    provider.invalidate (null);
    var second = yield provider.get_token ();
    check (second.access_token == "jwt-2", "a second token");
    check (endpoint.requests.length == 2, "two requests");
    if (endpoint.requests.length != 2)
        return;

    var jti1 = check_assertion (endpoint.requests[0], "ES256", "vala-key", "vala-client",
                                endpoint.token_url, "generated key, request 1");
    var jti2 = check_assertion (endpoint.requests[1], "ES256", "vala-key", "vala-client",
                                endpoint.token_url, "generated key, request 2");
    check (jti1 != jti2, "a new jti for each request");
    endpoint.close ();
}

async void test_pem_key () throws Error {
    if (Environment.find_program_in_path ("openssl") == null) {
        print ("ok %d a key openssl made # SKIP no openssl\n", ++count);
        return;
    }
    var directory = DirUtils.make_tmp ("grant-vala-key-XXXXXX");
    var path = Path.build_filename (directory, "key.pem");
    try {
        string errors;
        int status;
        Process.spawn_command_line_sync ("openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "
                                         + Shell.quote (path), null, out errors, out status);
        check (status == 0, "openssl made a key" + (status == 0 ? "" : ": " + errors));

        var key = new Grant.ClientKey.from_file (path, null);
        check (key.algorithm == "ES256", "from a PEM file: ES256");
        var jwk = parse_jwk (key);
        check (jwk.get_string_member ("kty") == "EC" && jwk.get_string_member ("crv") == "P-256" &&
               !jwk.has_member ("d"), "from a PEM file: the public JWK");

        string pem;
        FileUtils.get_contents (path, out pem);
        var again = new Grant.ClientKey.from_pem (pem);
        check (again.thumbprint == key.thumbprint, "from PEM text: the same key");

        var endpoint = new Endpoint ();
        var provider = (Grant.TokenProvider) Object.new (typeof (Grant.TokenProvider),
            token_url: endpoint.token_url,
            client_id: "vala-pem-client",
            client_key: key,
            auth_method: Grant.AuthMethod.PRIVATE_KEY_JWT,
            auto_refresh: false);
        var token = yield provider.get_token ();
        check (token.access_token == "jwt-1", "a token with the PEM key");
        check (endpoint.requests.length == 1, "one request");
        if (endpoint.requests.length == 1)
            check_assertion (endpoint.requests[0], "ES256", null, "vala-pem-client",
                             endpoint.token_url, "PEM key");
        endpoint.close ();
    } finally {
        FileUtils.unlink (path);
        DirUtils.remove (directory);
    }
}

async void test_audience_and_missing_key () throws Error {
    var endpoint = new Endpoint ();
    var provider = new Grant.TokenProvider (endpoint.token_url, "vala-client", null);
    provider.auth_method = Grant.AuthMethod.PRIVATE_KEY_JWT;
    provider.auto_refresh = false;
    provider.max_attempts = 1;
    check (provider.client_key == null && provider.assertion_audience == null &&
           provider.tls_certificate == null, "no key, audience or certificate");
    try {
        yield provider.get_token ();
        check (false, "no key: fails");
    } catch (Grant.Error.INVALID_CONFIGURATION e) {
        check (true, "no key: Grant.Error.INVALID_CONFIGURATION");
        check ("client-key" in e.message, "no key: the message names client-key (%s)".printf (e.message));
    }
    check (endpoint.requests.length == 0, "no key: no request");

    provider.client_key = Grant.ClientKey.generate ("EdDSA");
    provider.assertion_audience = "https://tenant.example.com/";
    check (provider.assertion_audience == "https://tenant.example.com/", "the assertion_audience property");
    yield provider.get_token ();
    check (endpoint.requests.length == 1, "one request");
    if (endpoint.requests.length == 1)
        check_assertion (endpoint.requests[0], "EdDSA", null, "vala-client",
                         "https://tenant.example.com/", "assertion audience");
    endpoint.close ();
}

async void run_all () {
    try {
        test_generated_jwk ();
        yield test_generated_key ();
        yield test_pem_key ();
        yield test_audience_and_missing_key ();
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
