#!/usr/bin/env python3
"""What a cross-target link produced, or why it failed (ci/check-targets.sh).

    link_report.py libraries TARGET MESSAGES   # MESSAGES: cargo --message-format=json output
    link_report.py failure TARGET LOG          # LOG: cargo's rendered diagnostics

`libraries` lists the executables cargo reported and the shared libraries they
need (ELF DT_NEEDED, Mach-O LC_LOAD_DYLIB, PE import table), read with LIEF,
one line per library with the number of executables that need it. It fails
when cargo reported no executable, or one that LIEF cannot read as an
executable of the three formats.

`failure` names the symbols the linker could not resolve (zig/lld: "undefined
symbol: X"; GNU ld: "undefined reference to `X'") and the target; with no such
line it says so, and the log's last lines tell the rest.
"""

import collections
import json
import os
import re
import sys

UNDEFINED = re.compile(r"undefined symbol: (\S+)|undefined reference to [`']([^']+)'")


def executables(messages_path):
    """Paths of the executables in cargo's JSON messages, in order, once each."""
    seen = []
    with open(messages_path, encoding="utf-8") as f:
        for line in f:
            line = line.strip()
            if not line.startswith("{"):
                continue
            msg = json.loads(line)
            exe = msg.get("executable") if msg.get("reason") == "compiler-artifact" else None
            if exe and exe not in seen:
                seen.append(exe)
    return seen


def libraries(target, messages_path):
    import lief  # only this mode needs it

    lief.logging.disable()
    exes = executables(messages_path)
    if not exes:
        print(f"{target}: cargo reported no executable", file=sys.stderr)
        return 1
    needed = collections.Counter()
    formats = set()
    for exe in exes:
        binary = lief.parse(exe)
        if binary is None:
            print(f"{target}: {exe} is not an ELF, Mach-O or PE executable", file=sys.stderr)
            return 1
        formats.add(binary.format.name)
        names = {lib if isinstance(lib, str) else lib.name for lib in binary.libraries}
        if binary.format == lief.Binary.FORMATS.PE:
            # Windows names DLLs case-insensitively; one binary may import a
            # DLL through several import descriptors.
            names = {n.lower() for n in names}
        needed.update(names)
    print(f"{target}: {len(exes)} executables linked ({', '.join(sorted(formats))}); "
          f"shared libraries they need:")
    for lib, n in sorted(needed.items(), key=lambda kv: (-kv[1], kv[0].lower())):
        print(f"  {lib}  ({n} of {len(exes)})")
    return 0


def failure(target, log_path):
    symbols = []
    with open(log_path, encoding="utf-8", errors="replace") as f:
        for line in f:
            for m in UNDEFINED.finditer(line):
                sym = m.group(1) or m.group(2)
                if sym not in symbols:
                    symbols.append(sym)
    if symbols:
        for sym in symbols:
            print(f"LINK FAILED: {target}: undefined symbol {sym}")
    else:
        print(f"LINK FAILED: {target}: no undefined symbol named in {os.path.basename(log_path)}; "
              "its last lines follow")
    return 0


def main(argv):
    if len(argv) != 4 or argv[1] not in ("libraries", "failure"):
        print("usage: link_report.py libraries|failure TARGET FILE (see the head of this file)",
              file=sys.stderr)
        return 2
    mode, target, path = argv[1:]
    return libraries(target, path) if mode == "libraries" else failure(target, path)


if __name__ == "__main__":
    sys.exit(main(sys.argv))
