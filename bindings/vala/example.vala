/* example.vala: libgrant from Vala
 *
 * Gets a token from the OfficeRnD preset, reports refreshes and failures,
 * and calls the API once with the token.
 *
 *   example BASE_URL    against grant-local-endpoint (test-client/test-secret)
 *
 * GRANT_CLIENT_ID and GRANT_CLIENT_SECRET override the credentials.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

async int run (string base_url) {
    Grant.TokenProvider provider;
    try {
        provider = new Grant.TokenProvider.from_preset ("officernd",
            Environment.get_variable ("GRANT_CLIENT_ID") ?? "test-client",
            Environment.get_variable ("GRANT_CLIENT_SECRET") ?? "test-secret");
    } catch (Error e) {
        printerr ("%s\n", e.message);
        return 1;
    }
    /* The preset knows OfficeRnD's own URL; point it at the local one. */
    provider.token_url = base_url + "/officernd/oauth/token";

    provider.token_refreshed.connect ((token) => {
        /* Never print the token itself: it is a secret. */
        var expires = token.expires_at.to_local ().format ("%H:%M:%S");
        print ("token-refreshed: a %s token, expires at %s\n", token.token_type, expires);
    });
    provider.refresh_failed.connect ((error) => {
        printerr ("refresh-failed: %s\n", error.message);
    });

    var message = new Soup.Message ("GET", base_url + "/api");
    try {
        /* On a 401 the provider has already retried once with a new token. */
        var stream = yield provider.send (null, message);
        var body = yield stream.read_bytes_async (64 * 1024);
        var text = new StringBuilder ();
        text.append_len ((string) body.get_data (), (ssize_t) body.get_size ());
        print ("API answered %u: %s\n", message.get_status (), text.str);
        return 0;
    } catch (Error e) {
        printerr ("The API call failed: %s\n", e.message);
        return 1;
    }
}

int main (string[] args) {
    if (args.length != 2) {
        printerr ("usage: %s BASE_URL\n", args[0]);
        return 2;
    }

    var loop = new MainLoop ();
    int status = 1;
    run.begin (args[1], (obj, res) => {
        status = run.end (res);
        loop.quit ();
    });
    loop.run ();
    return status;
}
