#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Doxygen input filter for Postie's headers (docs/Doxyfile).

The headers are documented in plain C comments (STYLE.md: what,
parameters, lifetime, errors, in the header). This filter lets Doxygen read
them as they are, without markup in the source:
  - the header's opening comment (after the SPDX line) becomes its \\file
    description;
  - a comment block that starts a line right before a declaration becomes
    that declaration's description ("/* ---- section ---- */" dividers stay
    plain comments);
  - a comment after a member, enumerator or parameter on its line becomes
    that member's description;
  - inside those comments, characters Doxygen would take for commands or
    HTML (backslash, @, <, >, &, #, %, $) are escaped outside double
    quotes (which Doxygen takes literally), so the text reads as written.
Line numbers are kept (one output line per input line).
"""
import re
import sys

ESCAPE = re.compile(r"([\\@<>&#%$])")


def esc(text):
    """Escape outside double-quoted spans (Doxygen takes those literally)."""
    parts = text.split('"')
    for i in range(0, len(parts), 2):
        parts[i] = ESCAPE.sub(r"\\\1", parts[i])
    return '"'.join(parts)


def main(path):
    with open(path, encoding="utf-8") as f:
        lines = f.read().split("\n")
    out = []
    in_doc = False  # inside a comment we turned into documentation
    seen_file_comment = False
    for line in lines:
        if in_doc:
            end = line.find("*/")
            if end >= 0:
                out.append(esc(line[:end]) + line[end:])
                in_doc = False
            else:
                out.append(esc(line))
            continue
        stripped = line.lstrip()
        if line.startswith("/* SPDX-License-Identifier"):
            out.append(line)
            continue
        if line.startswith("/*") and not line.startswith("/**") and \
                not line.startswith("/* ----") and not line.startswith("/* NULL: pointer"):
            body = line[2:]
            prefix = "/**"
            if not seen_file_comment:
                prefix = "/** \\file"
                seen_file_comment = True
            end = body.find("*/")
            if end >= 0:
                out.append(prefix + esc(body[:end]) + body[end:])
            else:
                out.append(prefix + esc(body))
                in_doc = True
            continue
        m = re.match(r"^(\s*\S.*?[;,{(]|\s*[A-Za-z_][A-Za-z0-9_]*)(\s*)/\*(?!\*)(.*)$", line)
        if m and not stripped.startswith("/*") and not stripped.startswith("#") and \
                not stripped.startswith("*"):
            code, space, rest = m.groups()
            end = rest.find("*/")
            if end >= 0:
                out.append(code + space + "/**<" + esc(rest[:end]) + rest[end:])
            else:
                out.append(code + space + "/**<" + esc(rest))
                in_doc = True
            continue
        out.append(line)
    sys.stdout.write("\n".join(out))


main(sys.argv[1])
