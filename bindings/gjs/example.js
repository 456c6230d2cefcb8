// SPDX-License-Identifier: LGPL-2.1-or-later
//
// libgrant from GJS.
//
// Gets a token from the OfficeRnD preset, reports refreshes and failures,
// and calls the API once with the token.
//
//     gjs -m example.js BASE_URL    against grant-local-endpoint
//
// GRANT_CLIENT_ID and GRANT_CLIENT_SECRET override the credentials.

import GLib from 'gi://GLib';
import Gio from 'gi://Gio';
import Grant from 'gi://Grant?version=1.0';
import Soup from 'gi://Soup?version=3.0';
import System from 'system';

Gio._promisify(Grant.TokenProvider.prototype, 'send_and_read_async', 'send_and_read_finish');

async function main(baseUrl) {
    const provider = Grant.TokenProvider.new_from_preset('officernd',
        GLib.getenv('GRANT_CLIENT_ID') ?? 'test-client',
        GLib.getenv('GRANT_CLIENT_SECRET') ?? 'test-secret');
    // The preset knows OfficeRnD's own URL; point it at the local one.
    provider.token_url = `${baseUrl}/officernd/oauth/token`;

    provider.connect('token-refreshed', (_provider, token) => {
        // Never print the token itself: it is a secret.
        const expires = token.expires_at.to_local().format('%H:%M:%S');
        print(`token-refreshed: a ${token.token_type} token, expires at ${expires}`);
    });
    provider.connect('refresh-failed', (_provider, error) => {
        printerr(`refresh-failed: ${error.message}`);
    });

    const message = Soup.Message.new('GET', `${baseUrl}/api`);
    // On a 401 the provider has already retried once with a new token.
    const body = await provider.send_and_read_async(null, message, GLib.PRIORITY_DEFAULT, null);
    print(`API answered ${message.get_status()}: ${new TextDecoder().decode(body.toArray())}`);
}

if (ARGV.length !== 1) {
    printerr('usage: gjs -m example.js BASE_URL');
    System.exit(2);
}

const loop = new GLib.MainLoop(null, false);
let status = 1;
main(ARGV[0]).then(() => {
    status = 0;
}).catch(error => {
    printerr(`The API call failed: ${error.message}`);
}).finally(() => loop.quit());
loop.run();
System.exit(status);
