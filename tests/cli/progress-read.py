#!/usr/bin/env python3
"""Reads what vault wrote to a terminal (a script(1) capture) and prints
JSON about its progress line, for tests/cli/t0140-progress.sh:

  draws   how many times the line was drawn ("\\r[m:ss] ...\\e[K")
  lines   the text of each draw
  width   the widest draw, in characters
  clean   every draw is followed by another draw or by the erase
          "\\r\\e[K" before anything else is written, and the last draw
          is erased
"""
import json
import re
import sys

DRAW = re.compile(rb"\r(\[\d+:\d\d(?::\d\d)?\] [^\r\x1b]*)\x1b\[K")
ERASE = b"\r\x1b[K"


def main(path):
    data = open(path, "rb").read()
    lines, clean, pos = [], True, 0
    for m in DRAW.finditer(data):
        lines.append(m.group(1).decode("utf-8", "replace"))
        after = data[m.end():]
        # the next thing on the terminal: another draw, or the erase
        if not (DRAW.match(after) or after.startswith(ERASE)):
            clean = False
        pos = m.end()
    json.dump({
        "draws": len(lines),
        "lines": lines,
        "width": max((len(s) for s in lines), default=0),
        "clean": clean,
        "tail": data[pos:pos + 40].decode("utf-8", "replace"),
    }, sys.stdout, indent=1)
    print()


if __name__ == "__main__":
    main(sys.argv[1])
