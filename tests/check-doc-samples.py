#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Compiles or checks every code sample in the guides (docs/*.md).

check-doc-samples.py SOURCE_ROOT BUILD_ROOT

By language: C samples are compiled (inside a function with the usual
variables declared, or at file scope when the sample defines functions),
Vala samples are compiled to C with valac, Python samples are compiled,
JavaScript modules are checked by node, provider files (ini) must load as a
GrantDialect, shell samples must parse. A `<!-- sample: MODE -->` comment
before a fence picks another mode (c-file, ini-fragment, ini-broken, skip). Samples
without a language are output, not code, and are skipped.
"""

import os
import re
import shutil
import subprocess
import sys
import tempfile

source_root, build_root = sys.argv[1], sys.argv[2]

C_PRELUDE = """#include <grant.h>
#include <json-glib/json-glib.h>

static void on_token_cb (GObject *source, GAsyncResult *result, gpointer user_data);
static void on_sent_cb (GObject *source, GAsyncResult *result, gpointer user_data);
static void got_token_cb (GObject *source, GAsyncResult *result, gpointer user_data);
static void sent_cb (GObject *source, GAsyncResult *result, gpointer user_data);
static void members_cb (GObject *source, GAsyncResult *result, gpointer user_data);
static void token_refreshed_cb (GrantTokenProvider *provider, GrantToken *token, gpointer user_data);
static void refresh_failed_cb (GrantTokenProvider *provider, GError *error, gpointer user_data);
"""

C_LOCALS = """  G_GNUC_UNUSED GrantTokenProvider *provider = NULL;
  G_GNUC_UNUSED GrantToken *token = NULL;
  G_GNUC_UNUSED GError *error = NULL;
  G_GNUC_UNUSED GCancellable *cancellable = NULL;
  G_GNUC_UNUSED gpointer user_data = NULL;
  G_GNUC_UNUSED SoupMessage *message = NULL;
  G_GNUC_UNUSED const char *client_id = NULL, *client_secret = NULL, *token_url = NULL;
  G_GNUC_UNUSED const char *api_url = NULL, *base_url = NULL;
  G_GNUC_UNUSED int example = 0;
  G_GNUC_UNUSED GrantClientKey *key = NULL;
"""

VALA_LOCALS = {
    'provider': 'Grant.TokenProvider provider = null;',
    'token': 'Grant.Token token = null;',
    'id': 'string id = "";',
    'secret': 'string secret = "";',
    'base_url': 'string base_url = "";',
    'message': 'Soup.Message message = null;',
}


def samples(path):
    """Yields (line, language, mode, code) for each fenced block."""
    lines = open(path, encoding='utf-8').read().split('\n')
    mode = None
    i = 0
    while i < len(lines):
        line = lines[i]
        comment = re.match(r'\s*<!--\s*sample:\s*([\w-]+)\s*-->', line)
        if comment:
            mode = comment.group(1)
        fence = re.match(r'^```(\w*)\s*$', line)
        if fence:
            start = i + 1
            j = start
            while not lines[j].startswith('```'):
                j += 1
            yield start, fence.group(1), mode, '\n'.join(lines[start:j]) + '\n'
            mode = None
            i = j
        elif line.strip() and not comment:
            mode = None
        i += 1


def run(command, **kwargs):
    result = subprocess.run(command, capture_output=True, text=True, **kwargs)
    return result.returncode == 0, result.stdout + result.stderr


def pkg_config(*packages):
    ok, out = run(['pkg-config', '--cflags', *packages])
    assert ok, out
    return out.split()


def check_c(code, mode, tmp):
    if mode == 'c-file' or re.search(r'^(static\s+)?\w[\w\s\*]*\n\w+ \(', code, re.M):
        text = C_PRELUDE + code
    else:
        text = C_PRELUDE + 'G_GNUC_UNUSED static void\nsample (void)\n{\n' + C_LOCALS + '  {\n' + code + '  }\n}\n'
    path = os.path.join(tmp, 'sample.c')
    open(path, 'w').write(text)
    flags = ['-I' + os.path.join(source_root, 'lib'), '-I' + os.path.join(build_root, 'lib')]
    flags += pkg_config('gio-2.0', 'libsoup-3.0', 'json-glib-1.0')
    return run(['cc', '-fsyntax-only', '-Wno-unused-function', '-Werror=implicit-function-declaration',
                '-Werror=incompatible-pointer-types', '-Werror=int-conversion', *flags, path])


def check_vala(code, mode, tmp):
    locals_ = '\n'.join(decl for name, decl in VALA_LOCALS.items()
                        if not re.search(r'\b(var|[\w.]+\??)\s+%s\s*=' % name, code))
    text = 'async void sample () throws GLib.Error {\n%s\n%s\n}\n' % (locals_, code)
    path = os.path.join(tmp, 'sample.vala')
    open(path, 'w').write(text)
    return run(['valac', '-C', '--vapidir', os.path.join(build_root, 'bindings'), '--pkg', 'grant-1',
                '--pkg', 'gio-2.0', '--pkg', 'libsoup-3.0', '--pkg', 'json-glib-1.0',
                '--directory', tmp, path])


def check_python(code, mode, tmp):
    try:
        compile(code, 'sample.py', 'exec')
        return True, ''
    except SyntaxError as e:
        return False, str(e)


def check_js(code, mode, tmp):
    path = os.path.join(tmp, 'sample.mjs')
    # GJS globals and top-level await are fine; node only parses.
    open(path, 'w').write(code)
    return run(['node', '--check', path])


def check_ini(code, mode, tmp):
    import gi
    gi.require_version('Grant', '1.0')
    from gi.repository import GLib, Grant
    if mode == 'ini-fragment':
        code = '[Provider]\n' + code
    try:
        Grant.Dialect.new_from_data('sample', code, -1)
        return mode != 'ini-broken', 'a broken sample loaded'
    except GLib.Error as e:
        return mode == 'ini-broken', e.message


def check_sh(code, mode, tmp):
    return run(['bash', '-n', '-c', code])


CHECKS = {'c': check_c, 'vala': check_vala, 'python': check_python, 'js': check_js,
          'ini': check_ini, 'sh': check_sh}

failures = 0
count = 0
for name in sorted(os.listdir(os.path.join(source_root, 'docs'))):
    if not name.endswith('.md'):
        continue
    path = os.path.join(source_root, 'docs', name)
    for line, language, mode, code in samples(path):
        if not language or mode == 'skip':
            continue
        check = CHECKS.get(language)
        count += 1
        if check is None:
            print(f'not ok {count} {name}:{line}: no check for {language} samples')
            failures += 1
            continue
        tmp = tempfile.mkdtemp()
        try:
            ok, output = check(code, mode, tmp)
        finally:
            shutil.rmtree(tmp)
        print(f'{"ok" if ok else "not ok"} {count} {name}:{line} ({language})')
        if not ok:
            failures += 1
            print('# ' + output.strip().replace('\n', '\n# '))

print(f'1..{count}')
sys.exit(1 if failures else 0)
