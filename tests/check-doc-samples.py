#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Compiles, checks or runs every code sample in the guides (docs/*.md).

check-doc-samples.py SOURCE_ROOT BUILD_ROOT

By language: C samples are compiled (inside a function with the usual
variables declared, or at file scope when the sample defines functions),
Vala samples are compiled to C with valac, provider files (ini) must load
as a GrantDialect, shell samples must parse. Python and JavaScript samples
are parsed, then run: those of each guide in order, in one Python
namespace or one GJS module, against a grant-local-endpoint, with
`base_url`/`baseUrl`, `token_url`/`tokenUrl`, `client_id`/`clientId`,
`client_secret`/`clientSecret`, `provider`, `message` and `loop` given. A
`<!-- sample: MODE -->` comment before a fence picks another mode (c-file,
ini-fragment, ini-broken, parse: parsed but not run, as a sample that needs
a key file or a real server; skip). Samples without a language are output,
not code, and are skipped.
"""

import contextlib
import io
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

# Running the Python and GJS samples

PYTHON_PRELUDE = {
    'client_id': 'test-client',
    'client_secret': 'test-secret',
}


def start_endpoint():
    endpoint = subprocess.Popen([os.path.join(build_root, 'demo', 'grant-local-endpoint'),
                                 '--until-stdin-closes'],
                                stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    return endpoint, endpoint.stdout.readline().strip()


def run_python(runnable, base_url):
    """Runs (line, code) in order in one namespace: a list of (ok, output)."""
    import traceback
    import gi
    gi.require_version('Grant', '1.0')
    gi.require_version('Soup', '3.0')
    from gi.repository import GLib, Grant, Soup

    errors = []
    hook = sys.excepthook
    # An exception in a callback is printed by PyGObject, not raised.
    sys.excepthook = lambda kind, value, tb: errors.append(''.join(traceback.format_exception(kind, value, tb)))
    from gi.repository import Gio, GObject
    namespace = dict(PYTHON_PRELUDE, base_url=base_url, token_url=base_url + '/token',
                     GLib=GLib, Gio=Gio, GObject=GObject, Grant=Grant, Soup=Soup)
    namespace['provider'] = Grant.TokenProvider.new(namespace['token_url'], 'test-client', 'test-secret')
    results = []
    try:
        for line, code in runnable:
            namespace['message'] = Soup.Message.new('GET', base_url + '/api')
            loop = GLib.MainLoop()
            namespace['loop'] = loop
            timed_out = []

            def give_up():
                timed_out.append(True)
                loop.quit()
                # A sample may run a loop of its own under the same name.
                if namespace.get('loop') is not loop:
                    namespace['loop'].quit()
                return GLib.SOURCE_REMOVE

            timer = GLib.timeout_add_seconds(20, give_up)
            del errors[:]
            output = io.StringIO()
            try:
                # What a sample prints is not TAP: shown as comments.
                with contextlib.redirect_stdout(output):
                    exec(compile(code, f'sample:{line}', 'exec'), namespace)
            except Exception:
                errors.append(traceback.format_exc())
            for printed in output.getvalue().splitlines():
                print('# ' + printed)
            if not timed_out:
                GLib.source_remove(timer)
            else:
                errors.append('the main loop ran for 20 s: the sample never quit it')
            results.append((not errors, '\n'.join(errors)))
    finally:
        sys.excepthook = hook
    return results


IMPORT = re.compile(r'^import (\w+) from (\S+);\s*$', re.M)


def run_gjs(runnable, base_url, tmp):
    """Runs (line, code) in order in one GJS module, each sample in a block
    of its own: a list of (ok, output)."""
    imports = {'GLib': "'gi://GLib'", 'Gio': "'gi://Gio'", 'GObject': "'gi://GObject'",
               'Grant': "'gi://Grant?version=1.0'", 'Soup': "'gi://Soup?version=3.0'"}
    body = []
    for i, (line, code) in enumerate(runnable):
        for match in IMPORT.finditer(code):
            imports[match.group(1)] = match.group(2)
        code = IMPORT.sub('', code)
        body.append(f'    current = {i};\n    {{\n{code}\n    }}\n    print(`sample-ok ${{current}}`);\n')
    module = ''.join(f'import {name} from {source};\n' for name, source in imports.items())
    module += f"""import System from 'system';

const baseUrl = '{base_url}';
const tokenUrl = `${{baseUrl}}/token`;
const clientId = 'test-client';
const clientSecret = 'test-secret';
let current = -1;

const loop = new GLib.MainLoop(null, false);
let status = 0;
let done = false;
(async () => {{
  try {{
    const provider = Grant.TokenProvider.new(tokenUrl, clientId, clientSecret);
    const message = Soup.Message.new('GET', `${{baseUrl}}/api`);
{''.join(body)}
  }} catch (e) {{
    print(`sample-failed ${{current}} ${{e}} (at ${{String(e.stack).split(String.fromCharCode(10)).join(' < ')}})`);
    status = 1;
  }}
  done = true;
  loop.quit();
}})();
GLib.timeout_add_seconds(GLib.PRIORITY_DEFAULT, 30, () => {{
  print(`sample-failed ${{current}} the samples ran for 30 s`);
  status = 1;
  loop.quit();
}});
if (!done)
  loop.run();
System.exit(status);
"""
    path = os.path.join(tmp, 'samples.js')
    open(path, 'w').write(module)
    ok, out = run(['gjs', '-m', path])
    passed = set(int(m) for m in re.findall(r'^sample-ok (\d+)$', out, re.M))
    # A rejection nobody awaited, or a callback that threw, is only a
    # warning in GJS: it fails the guide all the same.
    trouble = re.search(r'JS ERROR|Unhandled promise rejection|-(CRITICAL|WARNING) \*\*', out)
    if not ok or trouble:
        return [(False, out) for _ in runnable]
    failed = re.search(r'^sample-failed (-?\d+) (.*)', out, re.M | re.S)
    results = []
    for i in range(len(runnable)):
        if i in passed:
            results.append((True, ''))
        elif failed and int(failed.group(1)) == i:
            results.append((False, failed.group(2)))
        else:
            results.append((False, 'not run: ' + (out if not ok else 'an earlier sample failed')))
    return results


failures = 0
count = 0
to_run = {}
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
        elif language in ('python', 'js') and mode != 'parse':
            to_run.setdefault((name, language), []).append((line, code))

endpoint, base_url = start_endpoint()
try:
    for (name, language), runnable in sorted(to_run.items()):
        tmp = tempfile.mkdtemp()
        try:
            if language == 'python':
                results = run_python(runnable, base_url)
            else:
                results = run_gjs(runnable, base_url, tmp)
        finally:
            shutil.rmtree(tmp)
        for (line, _), (ok, output) in zip(runnable, results):
            count += 1
            print(f'{"ok" if ok else "not ok"} {count} {name}:{line} ({language}, ran)')
            if not ok:
                failures += 1
                print('# ' + output.strip().replace('\n', '\n# '))
finally:
    endpoint.stdin.close()
    endpoint.wait()

print(f'1..{count}')
sys.exit(1 if failures else 0)
