#!/usr/bin/env python3
"""
Check the files git tracks against .editorconfig (make format-check):
end_of_line, insert_final_newline, trim_trailing_whitespace, and
indent_style = space (no tab in a line's indentation).  indent_style = tab
and max_line_length are clang-format's to check in C (.clang-format says
the same: tabs to indent, spaces only to align, 120 columns but for
strings it cannot break); in shell scripts and the Makefile they are not
checked, since their Python heredocs and aligned continuation lines
cannot be told from indentation.  Understands the globs .editorconfig
uses: *, **, {a,b}, and a path with a slash anchored at the root; "unset".
"""
import re
import subprocess
import sys


def glob_body(pat):
    """An EditorConfig glob as the body of a regex."""
    out, i = "", 0
    while i < len(pat):
        c = pat[i]
        if pat.startswith("**", i):
            out += ".*"
            i += 1
        elif c == "*":
            out += "[^/]*"
        elif c == "{":
            j = pat.index("}", i)
            out += "(?:" + "|".join(glob_body(a) for a in pat[i + 1:j].split(",")) + ")"
            i = j
        else:
            out += re.escape(c)
        i += 1
    return out


def glob_re(pat):
    """A glob over a path relative to the root: one without a slash matches
    a file's name in any folder."""
    return re.compile(("(?:.*/)?" if "/" not in pat else "") + glob_body(pat) + r"\Z")


def sections(path):
    secs = []
    for line in open(path, encoding="utf-8"):
        line = line.strip()
        if not line or line[0] in "#;":
            continue
        if line.startswith("["):
            secs.append((glob_re(line[1:-1]), {}))
        elif secs and "=" in line:
            k, v = (x.strip() for x in line.split("=", 1))
            secs[-1][1][k.lower()] = v.lower()
    return secs


def main():
    secs = sections(sys.argv[1] if len(sys.argv) > 1 else ".editorconfig")
    files = subprocess.run(["git", "ls-files", "-z"], capture_output=True, check=True).stdout.decode().split("\0")
    bad = 0

    def fail(f, n, what):
        nonlocal bad
        bad += 1
        print(f"{f}:{n}: {what}" if n else f"{f}: {what}")

    nfiles = 0
    for f in filter(None, files):
        try:
            data = open(f, "rb").read()
        except (IsADirectoryError, FileNotFoundError):
            continue
        if b"\0" in data:
            continue  # binary
        props = {}
        for rx, p in secs:
            if rx.match(f):
                props.update(p)
        props = {k: v for k, v in props.items() if v != "unset"}
        if not props:
            continue
        nfiles += 1
        text = data.decode("utf-8", errors="replace")
        if props.get("end_of_line") == "lf" and "\r" in text:
            fail(f, 0, "carriage return (end_of_line = lf)")
        if props.get("insert_final_newline") == "true" and data and not data.endswith(b"\n"):
            fail(f, 0, "no newline at the end (insert_final_newline = true)")
        space = props.get("indent_style") == "space"
        for n, line in enumerate(text.split("\n"), 1):
            if props.get("trim_trailing_whitespace") == "true" and line != line.rstrip(" \t"):
                fail(f, n, "trailing white space")
            if space and "\t" in line[: len(line) - len(line.lstrip(" \t"))]:
                fail(f, n, "tab in the indentation (indent_style = space)")
    if bad:
        print(f"editorconfig-check: {bad} problems", file=sys.stderr)
        return 1
    print(f"editorconfig-check: {nfiles} files conform")
    return 0


if __name__ == "__main__":
    sys.exit(main())
