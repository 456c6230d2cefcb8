#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""A GTK 4 and libadwaita window showing a Grant.TokenProvider at work.

It shows the token's type, scope and a countdown to its expiry (all from
the provider's `token` property, never the token itself), each refresh and
failure as it happens, and calls an API with send_and_read_async().

    gtk-example.py BASE_URL                 against grant-local-endpoint
    gtk-example.py --self-check BASE_URL    exits 0 once it has shown a token
                                            and an API answer (CI runs this
                                            under Xvfb)

GRANT_CLIENT_ID and GRANT_CLIENT_SECRET override the credentials.
"""

import argparse
import os
import sys

import gi

try:
    gi.require_version('Adw', '1')
    gi.require_version('Gtk', '4.0')
except ValueError as missing:
    # No GTK 4 or libadwaita typelib: a test run skips (77).
    print(f'gtk-example.py: {missing}', file=sys.stderr)
    sys.exit(77)
gi.require_version('Grant', '1.0')
gi.require_version('Soup', '3.0')
from gi.repository import Adw, Gio, GLib, Grant, Gtk, Soup  # noqa: E402


MAX_EVENTS = 20


def describe_left(token):
    """'59 min 58 s', from the token's expiry (a GLib.DateTime in UTC)."""
    expires = token.props.expires_at
    if expires is None:
        return 'the server named no expiry'
    left = expires.difference(GLib.DateTime.new_now_utc()) // GLib.TIME_SPAN_SECOND
    if left <= 0:
        return 'expired'
    minutes, seconds = divmod(left, 60)
    return f'{minutes} min {seconds:02d} s' if minutes else f'{seconds} s'


class Window(Adw.ApplicationWindow):
    def __init__(self, app, provider, api_url):
        super().__init__(application=app, title='libgrant', default_width=460, default_height=560)
        self.provider = provider
        self.api_url = api_url

        page = Adw.PreferencesPage()
        token_group = Adw.PreferencesGroup(title='Token',
                                           description='What the provider holds; never the token itself')
        self.type_row = Adw.ActionRow(title='Type', subtitle='none yet')
        self.scope_row = Adw.ActionRow(title='Scope', subtitle='—')
        self.expiry_row = Adw.ActionRow(title='Expires in', subtitle='—')
        for row in (self.type_row, self.scope_row, self.expiry_row):
            row.add_css_class('property')
            token_group.add(row)
        page.add(token_group)

        api_group = Adw.PreferencesGroup(title='API')
        self.api_row = Adw.ActionRow(title='Answer', subtitle='not called yet')
        self.api_row.add_css_class('property')
        call = Gtk.Button(label='Call', valign=Gtk.Align.CENTER)
        call.add_css_class('suggested-action')
        call.connect('clicked', lambda _button: self.call_api())
        self.api_row.add_suffix(call)
        api_group.add(self.api_row)
        page.add(api_group)

        self.events = Adw.PreferencesGroup(title='Events')
        self.event_rows = []
        page.add(self.events)

        toolbar = Gtk.Box(orientation=Gtk.Orientation.VERTICAL)
        toolbar.append(Adw.HeaderBar())
        toolbar.append(page)
        self.set_content(toolbar)

        # The token property changes with every new token, and when one is
        # dropped: the rows follow it; a timer keeps the countdown.
        self.handlers = [provider.connect('notify::token', lambda *_: self.show_token()),
                         provider.connect('token-refreshed', self.on_refreshed),
                         provider.connect('refresh-failed', self.on_failed)]
        self.ticker = GLib.timeout_add_seconds(1, self.tick)
        self.connect('close-request', self.on_close)

    def on_close(self, window):
        # The provider outlives the window: it must not call into it.
        for handler in self.handlers:
            self.provider.disconnect(handler)
        GLib.source_remove(self.ticker)
        return False

    def add_event(self, title, text):
        now = GLib.DateTime.new_now_local().format('%X')
        row = Adw.ActionRow(title=f'{now} {title}', subtitle=GLib.markup_escape_text(text))
        self.events.add(row)
        self.event_rows.append(row)
        # The last few only.
        if len(self.event_rows) > MAX_EVENTS:
            self.events.remove(self.event_rows.pop(0))

    def show_token(self):
        token = self.provider.props.token
        if token is None:
            self.type_row.props.subtitle = 'none'
            self.scope_row.props.subtitle = '—'
            self.expiry_row.props.subtitle = '—'
            return
        # Subtitles are Pango markup: what the server sent is escaped.
        self.type_row.props.subtitle = GLib.markup_escape_text(token.props.token_type)
        self.scope_row.props.subtitle = GLib.markup_escape_text(
            token.props.scope or self.provider.props.scope or 'none asked')
        self.expiry_row.props.subtitle = describe_left(token)

    def tick(self):
        token = self.provider.props.token
        if token is not None:
            self.expiry_row.props.subtitle = describe_left(token)
        return GLib.SOURCE_CONTINUE

    def on_refreshed(self, provider, token):
        expires = token.props.expires_at
        when = expires.to_local().format('%X') if expires else 'never'
        print(f'token-refreshed: a {token.props.token_type} token, expires at {when}', flush=True)
        self.add_event('new token', f'a {token.props.token_type} token, expires at {when}')


    def on_failed(self, provider, error):
        print(f'refresh-failed: {error.message}', file=sys.stderr, flush=True)
        self.add_event('failure', error.message)

    def call_api(self, done=None):
        message = Soup.Message.new('GET', self.api_url)
        self.api_row.props.subtitle = 'calling…'

        def on_read(provider, result):
            try:
                body = provider.send_and_read_finish(result).get_data().decode(errors='replace')
                status = int(message.get_status())
                print(f'API answered {status}: {body}', flush=True)
                self.api_row.props.subtitle = GLib.markup_escape_text(f'{status}: {body}')
            except GLib.Error as error:
                self.api_row.props.subtitle = GLib.markup_escape_text(f'failed: {error.message}')
                status = None
            if done is not None:
                done(status)

        self.provider.send_and_read_async(None, message, GLib.PRIORITY_DEFAULT, None, on_read)


def main():
    parser = argparse.ArgumentParser(description='libgrant in a GTK 4 window')
    parser.add_argument('--self-check', action='store_true',
                        help='exit 0 once a token and an API answer have been shown')
    parser.add_argument('base_url')
    args = parser.parse_args()

    provider = Grant.TokenProvider.new(args.base_url + '/token',
                                       os.environ.get('GRANT_CLIENT_ID', 'test-client'),
                                       os.environ.get('GRANT_CLIENT_SECRET', 'test-secret'))
    provider.props.scope = 'members:read'
    app = Adw.Application(application_id='org.libgrant.Example', flags=Gio.ApplicationFlags.NON_UNIQUE)
    outcome = {'status': 1}

    def finish(window, status):
        if status == 200 and provider.props.token is not None:
            outcome['status'] = 0
        # A moment for the last rows to be drawn (and seen, when watched).
        GLib.timeout_add(int(os.environ.get('GRANT_EXAMPLE_LINGER_MS', '200')), lambda: app.quit())

    def activate(app):
        window = Window(app, provider, args.base_url + '/api')
        window.present()
        if args.self_check:
            GLib.timeout_add_seconds(20, lambda: app.quit())
            # The API call gets the token first, as an application's would.
            window.call_api(done=lambda status: finish(window, status))

    if args.self_check:
        # An exception in a handler is printed, not raised: it fails the check.
        hook = sys.excepthook

        def failed(*exc_info):
            outcome['broken'] = True
            hook(*exc_info)
        sys.excepthook = failed

    app.connect('activate', activate)
    app.run([sys.argv[0]])
    if args.self_check and outcome.get('broken'):
        return 1
    return outcome['status'] if args.self_check else 0


if __name__ == '__main__':
    sys.exit(main())
