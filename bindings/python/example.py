#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""libgrant from Python.

Gets a token from the OfficeRnD preset, reports refreshes and failures, and
calls the API once with the token.

    example.py BASE_URL    against grant-local-endpoint (test-client/test-secret)

GRANT_CLIENT_ID and GRANT_CLIENT_SECRET override the credentials.
"""

import os
import sys

import gi

gi.require_version('Grant', '1.0')
gi.require_version('Soup', '3.0')
from gi.repository import GLib, Grant, Soup  # noqa: E402


def main(base_url):
    provider = Grant.TokenProvider.new_from_preset(
        'officernd',
        os.environ.get('GRANT_CLIENT_ID', 'test-client'),
        os.environ.get('GRANT_CLIENT_SECRET', 'test-secret'))
    # The preset knows OfficeRnD's own URL; point it at the local one.
    provider.props.token_url = base_url + '/officernd/oauth/token'

    def on_refreshed(provider, token):
        # Never print the token itself: it is a secret.
        expires = token.props.expires_at.to_local().format('%H:%M:%S')
        print(f'token-refreshed: a {token.props.token_type} token, expires at {expires}')

    def on_failed(provider, error):
        print(f'refresh-failed: {error.message}', file=sys.stderr)

    provider.connect('token-refreshed', on_refreshed)
    provider.connect('refresh-failed', on_failed)

    loop = GLib.MainLoop()
    message = Soup.Message.new('GET', base_url + '/api')
    status = 1

    def on_read(provider, result):
        nonlocal status
        try:
            # On a 401 the provider has already retried once with a new token.
            body = provider.send_and_read_finish(result).get_data().decode()
        except GLib.Error as error:
            print(f'The API call failed: {error.message}', file=sys.stderr)
            loop.quit()
            return
        print(f'API answered {int(message.get_status())}: {body}')
        status = 0
        loop.quit()

    provider.send_and_read_async(None, message, GLib.PRIORITY_DEFAULT, None, on_read)
    loop.run()
    return status


if __name__ == '__main__':
    if len(sys.argv) != 2:
        print(f'usage: {sys.argv[0]} BASE_URL', file=sys.stderr)
        sys.exit(2)
    sys.exit(main(sys.argv[1]))
