# testlib.py: what the Python tests share.
#
# SPDX-License-Identifier: LGPL-2.1-or-later

from gi.repository import GLib


def get_token(provider, loop=None, seconds=20):
    """Calls provider.get_token_async() and runs @loop (a new one if None)
    until it is done, or @seconds have passed: {'token': token} or
    {'error': error}; empty when the time ran out."""
    loop = loop or GLib.MainLoop()
    result = {}

    def done(source, res):
        try:
            result['token'] = source.get_token_finish(res)
        except GLib.Error as error:
            result['error'] = error
        loop.quit()

    provider.get_token_async(None, done)
    timeout = GLib.timeout_add_seconds(seconds, loop.quit)
    loop.run()
    if not result:
        return result
    GLib.source_remove(timeout)
    return result
