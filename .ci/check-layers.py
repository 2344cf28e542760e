#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""The plan of the code from its includes: every "postie/..." include in
core/ and port/ must go sideways or down, never up, and never in a loop.

Layers (a folder may include itself and what its line names):
  core/common   the floor: status, text, UTF-8, addresses, lines, base64
  core/smtp     -> common
  core/mime     -> common
  core/pop3     -> common                  (when it exists)
  core/imap     -> common                  (when it exists)
  core/fetch    -> common                  (the archiving run, over mailbox.h)
  core/session  -> common, smtp, mime, pop3, imap (entries map to engine configs)
  core/queue    -> common, smtp, mime, session
  port/common   -> core
  port/mbedtls  -> core, port/common
  port/lwip     -> core, port/common, port/mbedtls
  port/posix    -> core, port/common, port/mbedtls, port/cjson
  port/cjson    -> nothing of Postie's
Prints the plan (one line per folder: what it includes) and exits 1 on a
loop or an include against these rules."""
import os
import re
import sys

root = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
ALLOWED = {
    "core/common": set(),
    "core/smtp": {"core/common"},
    "core/mime": {"core/common"},
    "core/pop3": {"core/common"},
    "core/imap": {"core/common"},
    "core/fetch": {"core/common"},
    "core/session": {"core/common", "core/smtp", "core/mime", "core/pop3", "core/imap"},
    "core/queue": {"core/common", "core/smtp", "core/mime", "core/session"},
    "port/common": {"core/*"},
    "port/mbedtls": {"core/*", "port/common"},
    "port/lwip": {"core/*", "port/common", "port/mbedtls"},
    "port/posix": {"core/*", "port/common", "port/mbedtls", "port/cjson"},
    "port/cjson": set(),
}
INCLUDE = re.compile(r'^\s*#\s*include\s+"(postie/[^"]+)"', re.M)


def group_of(path):
    """The layer folder of a source or header path (relative to root)."""
    parts = path.split("/")
    if parts[0] in ("core", "port") and parts[1] == "include":
        # core/include/postie/smtp/smtp.h -> core/smtp
        return parts[0] + "/" + parts[3] if len(parts) > 4 else None
    if parts[0] in ("core", "port") and len(parts) > 2:
        return parts[0] + "/" + parts[1]
    return None


def header_path(include):
    for base in ("core/include", "port/include"):
        if os.path.exists(os.path.join(root, base, include)):
            return base + "/" + include
    return None


def allowed(src, dst):
    if src == dst:
        return True
    rules = ALLOWED.get(src)
    if rules is None:
        return False
    return dst in rules or (dst.startswith("core/") and "core/*" in rules)


def main():
    edges = {}  # file -> [included file]
    problems = []
    for top in ("core", "port"):
        for dirpath, _, names in os.walk(os.path.join(root, top)):
            for name in names:
                if not name.endswith((".c", ".h")):
                    continue
                rel = os.path.relpath(os.path.join(dirpath, name), root)
                with open(os.path.join(root, rel), encoding="utf-8") as f:
                    text = f.read()
                edges[rel] = []
                for inc in INCLUDE.findall(text):
                    target = header_path(inc)
                    if target is None:
                        problems.append("%s: includes %s, which is not in core/ or port/" % (rel, inc))
                        continue
                    edges[rel].append(target)
    plan = {}
    for src, targets in edges.items():
        g = group_of(src)
        if g is None:
            problems.append("%s: not in a layer folder" % src)
            continue
        for t in targets:
            tg = group_of(t)
            plan.setdefault(g, set())
            if tg != g:
                plan[g].add(tg)
            if not allowed(g, tg):
                problems.append("%s (%s) includes %s (%s): against the layers" % (src, g, t, tg))
    # loops among headers and sources
    state = {}

    def visit(node, stack):
        state[node] = 1
        stack.append(node)
        for nxt in edges.get(node, []):
            if state.get(nxt) == 1:
                problems.append("include loop: " + " -> ".join(stack[stack.index(nxt):] + [nxt]))
            elif nxt not in state:
                visit(nxt, stack)
        stack.pop()
        state[node] = 2

    for node in sorted(edges):
        if node not in state:
            visit(node, [])
    for g in sorted(plan):
        print("%-14s -> %s" % (g, ", ".join(sorted(plan[g])) or "(nothing)"))
    for p in problems:
        print("check-layers: " + p, file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
