#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Copies the guides for gi-docgen, turning links between them from
`name.md` (which work where the sources are read, on a forge) into
`name.html` (the pages gi-docgen makes of them).

content-links.py OUTDIR FILE...
content-links.py --check FILE...   every link to a .md or .html beside
                                   it names a guide that is there
"""

import os
import re
import shutil
import sys

# [text](name.md), (./name.md), (name.md#anchor), (name.md "title")
LINK = re.compile(r'\]\((?:\./)?([A-Za-z0-9_-]+)\.md(#[^)\s]*)?(\s+"[^"]*")?\)')


def main(outdir, paths):
    for path in paths:
        target = os.path.join(outdir, os.path.basename(path))
        if path.endswith('.md'):
            with open(path, encoding='utf-8') as f:
                text = f.read()
            text = LINK.sub(lambda m: '](%s.html%s%s)' % (m.group(1), m.group(2) or '', m.group(3) or ''),
                            text)
            with open(target, 'w', encoding='utf-8') as f:
                f.write(text)
        else:
            shutil.copyfile(path, target)
    return 0


ANY_LINK = re.compile(r'\]\(([A-Za-z0-9_./-]+)\.(md|html)(#[^)\s]*)?(\s+"[^"]*")?\)')


def check(paths):
    broken = 0
    for path in paths:
        if not path.endswith('.md'):
            continue
        with open(path, encoding='utf-8') as f:
            text = f.read()
        for match in ANY_LINK.finditer(text):
            name, kind = match.group(1), match.group(2)
            if '://' in match.group(0):
                continue
            target = os.path.join(os.path.dirname(path), name + '.md')
            if kind == 'html' or not os.path.exists(target):
                print(f'{path}: broken link to {name}.{kind} (write name.md, to a guide that exists)')
                broken += 1
    return 1 if broken else 0


if __name__ == '__main__':
    if sys.argv[1] == '--check':
        sys.exit(check(sys.argv[2:]))
    sys.exit(main(sys.argv[1], sys.argv[2:]))
