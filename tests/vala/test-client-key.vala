/* test-client-key.vala: Grant.ClientKey and private_key_jwt from Vala: a
 * generated key and one openssl made, their public JWKs, and the
 * assertions a provider sends to a token endpoint here that reads them
 * (their signatures are checked by a real server in test-interop): header
 * and claims, a new jti for every request, the assertion audience, and a
 * missing key. And DPoP: proofs on token and API requests, the nonces
 * servers ask for, proofs by hand.
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

string b64url (uint8[] data) {
    return Base64.encode (data).replace ("+", "-").replace ("/", "_").replace ("=", "");
}

/* base64url of the SHA-256 of @text, as DPoP's ath. */
string token_hash (string text) {
    var checksum = new Checksum (ChecksumType.SHA256);
    checksum.update (text.data, text.length);
    var digest = new uint8[32];
    size_t length = digest.length;
    checksum.get_digest (digest, ref length);
    digest.length = (int) length;
    return b64url (digest);
}

/* A DPoP proof's header and claims. */
class Proof {
    public Json.Object header;
    public Json.Object claims;
    public int signature_length;

    public Proof (string? proof) throws Error {
        var parts = (proof ?? "").split (".");
        if (parts.length != 3)
            throw new IOError.INVALID_DATA ("not a compact JWS: %s", proof ?? "(none)");
        header = decode_json (parts[0]);
        claims = decode_json (parts[1]);
        signature_length = b64url_decode (parts[2]).length;
    }

    public string claim (string name) {
        return claims.get_string_member_with_default (name, "(none)");
    }
}

/* A token endpoint and an API that read DPoP proofs and ask for nonces. */
class DpopEndpoint : Object {
    public Soup.Server server;
    public string token_url;
    public string api_url;
    public GenericArray<Proof> token_requests = new GenericArray<Proof> ();
    public GenericArray<Proof> api_requests = new GenericArray<Proof> ();
    public GenericArray<string> problems = new GenericArray<string> ();
    uint tokens = 0;

    public DpopEndpoint () throws Error {
        server = (Soup.Server) Object.new (typeof (Soup.Server));
        server.listen_local (0, Soup.ServerListenOptions.IPV4_ONLY);
        server.add_handler ("/token", handle_token);
        server.add_handler ("/api", handle_api);
        var base_url = "http://127.0.0.1:%d".printf (server.get_uris ().data.get_port ());
        token_url = base_url + "/token";
        api_url = base_url + "/api";
    }

    bool expect (bool condition, string what) {
        if (!condition)
            problems.add (what);
        return condition;
    }

    /* The request's proof, its header checked, or null. */
    Proof? proof (Soup.ServerMessage msg) {
        Proof proof;
        try {
            proof = new Proof (msg.get_request_headers ().get_one ("DPoP"));
        } catch (Error e) {
            expect (false, e.message);
            return null;
        }
        expect (proof.header.get_string_member_with_default ("typ", "") == "dpop+jwt", "typ dpop+jwt");
        expect (proof.header.get_string_member_with_default ("alg", "") == "ES256", "alg ES256");
        var jwk = proof.header.get_object_member ("jwk");
        expect (jwk != null && jwk.get_string_member_with_default ("kty", "") == "EC" && !jwk.has_member ("d"),
                "a public jwk");
        expect (proof.signature_length == 64, "a 64-byte signature");
        expect (proof.claim ("jti").length >= 16, "a jti");
        expect ((proof.claims.get_int_member_with_default ("iat", 0) - get_real_time () / 1000000).abs () < 60,
                "iat is now");
        return proof;
    }

    void answer (Soup.ServerMessage msg, uint status, string body, string nonce, string? challenge = null) {
        msg.set_status (status, null);
        msg.get_response_headers ().replace ("DPoP-Nonce", nonce);
        if (challenge != null)
            msg.get_response_headers ().replace ("WWW-Authenticate", challenge);
        msg.set_response ("application/json", Soup.MemoryUse.COPY, body.data);
    }

    void handle_token (Soup.Server server, Soup.ServerMessage msg, string path, HashTable<string, string>? query) {
        var proof = proof (msg);
        if (proof == null) {
            answer (msg, 400, "{\"error\":\"invalid_dpop_proof\"}", "n-1");
            return;
        }
        token_requests.add (proof);
        var body = msg.get_request_body ().flatten ();
        var text = new StringBuilder ();
        text.append_len ((string) body.get_data (), (ssize_t) body.get_size ());
        var form = Soup.Form.decode (text.str);
        expect (form.get ("client_secret") == "vala-secret", "token: the client secret");
        if (!proof.claims.has_member ("nonce")) {
            answer (msg, 400, "{\"error\":\"use_dpop_nonce\",\"error_description\":\"nonce required\"}", "n-1");
            return;
        }
        if (!expect (proof.claim ("htm") == "POST", "token: htm " + proof.claim ("htm")) |
            !expect (proof.claim ("htu") == token_url, "token: htu " + proof.claim ("htu")) |
            !expect (proof.claim ("nonce") == "n-1", "token: nonce " + proof.claim ("nonce")) |
            !expect (!proof.claims.has_member ("ath"), "token: no ath")) {
            answer (msg, 400, "{\"error\":\"invalid_dpop_proof\"}", "n-1");
            return;
        }
        tokens++;
        answer (msg, 200, "{\"access_token\":\"dpop-token-%u\",\"token_type\":\"DPoP\",\"expires_in\":3600}"
                .printf (tokens), "n-2");
    }

    void handle_api (Soup.Server server, Soup.ServerMessage msg, string path, HashTable<string, string>? query) {
        var proof = proof (msg);
        if (proof == null) {
            answer (msg, 400, "{}", "api-1");
            return;
        }
        api_requests.add (proof);
        if (proof.claim ("nonce") != "api-1") {
            answer (msg, 401, "{}", "api-1", "DPoP error=\"use_dpop_nonce\"");
            return;
        }
        var authorization = msg.get_request_headers ().get_one ("Authorization") ?? "(none)";
        if (!expect (authorization == "DPoP dpop-token-1", "api: Authorization " + authorization) |
            !expect (proof.claim ("ath") == token_hash ("dpop-token-1"), "api: ath " + proof.claim ("ath")) |
            !expect (proof.claim ("htm") == "GET", "api: htm " + proof.claim ("htm")) |
            !expect (proof.claim ("htu") == api_url, "api: htu " + proof.claim ("htu"))) {
            answer (msg, 403, "{}", "api-1");
            return;
        }
        answer (msg, 200, "{\"ok\":true}", "api-1");
    }

    public string problem_list () {
        return string.joinv (", ", problems.data);
    }

    /* The handlers hold a reference to the endpoint: drop them. */
    public void close () {
        server.remove_handler ("/token");
        server.remove_handler ("/api");
        server.disconnect ();
    }
}

Grant.TokenProvider dpop_provider (DpopEndpoint endpoint, Grant.ClientKey? key) {
    var provider = new Grant.TokenProvider (endpoint.token_url, "vala-client", "vala-secret");
    provider.auth_method = Grant.AuthMethod.CLIENT_SECRET_POST;
    provider.dpop_key = key;
    provider.auto_refresh = false;
    provider.max_attempts = 1;
    return provider;
}

async void test_dpop () throws Error {
    var endpoint = new DpopEndpoint ();
    var key = Grant.ClientKey.generate ("ES256");
    var provider = dpop_provider (endpoint, key);
    check (provider.dpop_key == key && provider.get_dpop_key () == key, "dpop: the dpop_key property");

    var token = yield provider.get_token ();
    check (endpoint.problems.length == 0, "dpop: token requests as expected " + endpoint.problem_list ());
    check (token.access_token == "dpop-token-1", "dpop: a token");
    check (token.token_type == "DPoP", "dpop: token type DPoP");
    check (token.dup_authorization () == "DPoP dpop-token-1", "dpop: authorization DPoP <token>");
    check (endpoint.token_requests.length == 2,
           "dpop: two token requests (%u)".printf (endpoint.token_requests.length));
    check (endpoint.token_requests.length == 2 && !endpoint.token_requests[0].claims.has_member ("nonce") &&
           endpoint.token_requests[1].claim ("nonce") == "n-1", "dpop: the second token request carries the nonce");

    var url = endpoint.api_url + "?x=1";
    for (uint round = 1; round <= 2; round++) {
        var message = new Soup.Message ("GET", url);
        var stream = yield provider.send (null, message);
        stream.close ();
        check (message.status_code == 200, "dpop: API request %u: 200 (%u)".printf (round, message.status_code));
        check (endpoint.api_requests.length == round + 1, "dpop: API request %u: %u requests in all (%u)"
               .printf (round, round + 1, endpoint.api_requests.length));
    }
    check (endpoint.problems.length == 0, "dpop: API requests as expected " + endpoint.problem_list ());
    check (endpoint.token_requests.length == 2, "dpop: no more token requests");

    var proof = new Proof (provider.create_dpop_proof ("GET", url, token));
    var jwk = parse_jwk (key);
    var header_jwk = proof.header.get_object_member ("jwk");
    check (proof.header.get_string_member ("typ") == "dpop+jwt" && !header_jwk.has_member ("d"),
           "by hand: typ and a public jwk");
    check (header_jwk.get_string_member ("x") == jwk.get_string_member ("x") &&
           header_jwk.get_string_member ("y") == jwk.get_string_member ("y"), "by hand: the key's jwk");
    check (proof.claim ("htm") == "GET" && proof.claim ("htu") == endpoint.api_url,
           "by hand: htm and htu " + proof.claim ("htu"));
    check (proof.claim ("nonce") == "api-1", "by hand: the remembered nonce (%s)".printf (proof.claim ("nonce")));
    check (proof.claim ("ath") == token_hash ("dpop-token-1"), "by hand: ath");
    check (token_hash ("abc") == "ungWv48Bz-pBQUDeXa4iI7ADYaOWF3qctBD_YfIAFa0", "by hand: ath of a known text");

    provider.set_dpop_nonce (url, "x");
    proof = new Proof (provider.create_dpop_proof ("GET", url, token));
    check (proof.claim ("nonce") == "x", "by hand: the nonce set (%s)".printf (proof.claim ("nonce")));
    proof = new Proof (provider.create_dpop_proof ("POST", url, null, "given"));
    check (proof.claim ("htm") == "POST" && proof.claim ("nonce") == "given" && !proof.claims.has_member ("ath"),
           "by hand: a nonce given, no token");

    var plain = dpop_provider (endpoint, null);
    check (plain.dpop_key == null, "no dpop key");
    try {
        plain.create_dpop_proof ("GET", url);
        check (false, "no dpop key: no proof");
    } catch (Grant.Error.INVALID_CONFIGURATION e) {
        check (true, "no dpop key: Grant.Error.INVALID_CONFIGURATION");
    }
    endpoint.close ();
}

async void run_all () {
    try {
        test_generated_jwk ();
        yield test_generated_key ();
        yield test_pem_key ();
        yield test_audience_and_missing_key ();
        yield test_dpop ();
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
