#!/usr/bin/env python3
"""Writes the fuzz targets' seed corpora (fuzz/seeds/<target>/) from real files:

    python3 fuzz/make-seeds.py [--set DIR]

- result_set: the Wine first run (tests/fixtures/wine-first-run) and a part of
  a Linux result set (--set, default target/ipc-results, as `cargo test`
  leaves it), in the layout of `ipc_conformance_fuzz::write_set`;
- result_file: their result files and run.json, and a report.json of the Wine
  run (its runs only: the reader skips the rest);
- claims_toml: every suites/<suite>.toml, and suites/catalog.toml's layout;
- platform_toml: every platforms/*.toml, as a platform file and as a file to
  merge a draft into;
- protocol_line: every example line of the protocol tests (the lines
  `cargo test --lib` round-trips and refuses, through IPCCONF_PROTOCOL_LINES).

Existing seeds of these names are replaced; regression inputs (regress-*) stay.
"""

import argparse
import json
import os
import pathlib
import re
import subprocess
import sys
import tempfile

ROOT = pathlib.Path(__file__).resolve().parent.parent
SEEDS = ROOT / "fuzz" / "seeds"
SEP = b"\0\0"

# Claims of a Linux set kept in its seed: every kind of result, a few of each.
KEEP = re.compile(
    r"^(perf\.(latency_pipe|throughput_pipe|mpmc_contention|shm_spin_sub_microsecond)"
    r"|pipe\.(unidirectional|default_capacity|pipe_buf)|unix_stream\.(oob|multiple_readers)"
    r"|signal\.(standard_coalesce|realtime_lowest_first|rt_range)|futex\.futex2|landlock\.scope_signal"
    r"|posix_mq\.available|fifo\.available|sysv_shm\.available|tcp\.available"
    r"|unix_dgram\.max_datagram)\.json$"
)


def write(target, name, data):
    d = SEEDS / target
    d.mkdir(parents=True, exist_ok=True)
    (d / name).write_bytes(data)


def encode_set(run, results):
    """A result set in write_set's layout: run.json, then SEP name NUL bytes per file."""
    out = run
    for name, data in results:
        out += SEP + name.encode() + b"\0" + data
    return out


def set_files(d, keep=None):
    files = sorted(p for p in (d / "results").iterdir() if p.suffix == ".json")
    if keep:
        files = [p for p in files if keep.match(p.name)]
    return (d / "run.json").read_bytes(), [(p.name, p.read_bytes()) for p in files]


def protocol_index():
    """PROTOCOLS of fuzz_targets/protocol_line.rs, in order: (path parts, type name)."""
    text = (ROOT / "fuzz" / "fuzz_targets" / "protocol_line.rs").read_text()
    table = text.split("const PROTOCOLS", 1)[1]
    return [name.split("::") for name in re.findall(r'^\s*\("([\w:]+)", check::<', table, re.M)]


def protocol_of(type_name, index):
    parts = type_name.split("::")
    for i, want in enumerate(index):
        if parts[-1] == want[-1] and all(p in parts for p in want[:-1]):
            return i
    return None


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--set", default=str(ROOT / "target" / "ipc-results"), help="a Linux result set")
    args = ap.parse_args()

    wine = ROOT / "tests" / "fixtures" / "wine-first-run"
    sets = [("wine-first-run", set_files(wine))]
    linux = pathlib.Path(args.set)
    if (linux / "run.json").is_file():
        sets.append(("linux-part", set_files(linux, KEEP)))
    else:
        print(f"no result set in {linux}: the Linux seeds are not written", file=sys.stderr)
    for name, (run, results) in sets:
        write("result_set", name, encode_set(run, results))
        write("result_file", f"run-{name}", b"\x01" + run)
        for fname, data in results:
            write("result_file", f"result-{name}-{fname[:-5]}", b"\x00" + data)

    with tempfile.TemporaryDirectory() as out:
        subprocess.run(["cargo", "run", "-q", "--bin", "ipcconf", "--", "report", "--results", str(wine),
                        "--out", out], cwd=ROOT, check=True, stdout=subprocess.DEVNULL)
        report = json.loads(pathlib.Path(out, "report.json").read_text())
        runs = {"runs": report["runs"], "not_measured": report["not_measured"]}
        write("result_file", "report-wine-first-run", b"\x02" + json.dumps(runs, indent=1).encode())

    for p in sorted((ROOT / "suites").glob("*.toml")):
        if p.name == "catalog.toml":
            write("claims_toml", "guide-catalog", b"\x01" + p.read_bytes())
        else:
            write("claims_toml", f"claims-{p.stem}", b"\x00" + p.read_bytes())

    stems = ["linux", "linux-musl", "windows-wine", "macos"]  # platform_toml.rs's STEMS
    for p in sorted((ROOT / "platforms").glob("*.toml")):
        stem = stems.index(p.stem) if p.stem in stems else 0
        write("platform_toml", f"platform-{p.stem}", bytes([stem * 2]) + p.read_bytes())
        write("platform_toml", f"merge-{p.stem}", bytes([stem * 2 + 1]) + p.read_bytes())

    index = protocol_index()
    with tempfile.TemporaryDirectory() as tmp:
        lines_file = os.path.join(tmp, "lines")
        env = dict(os.environ, IPCCONF_PROTOCOL_LINES=lines_file)
        subprocess.run(["cargo", "test", "-q", "--lib", "--", "--test-threads=1"], cwd=ROOT, env=env,
                       check=True, stdout=subprocess.DEVNULL)
        lines = pathlib.Path(lines_file).read_text().splitlines()
    # The one-word protocols that stand inside others' lines have no examples of their own.
    words = {"WaitHow": ["spin", "cond"], "WaitThen": ["leave", "process"],
             "Locking": ["locked", "unlocked"], "NoCommands": [""]}
    for i, want in enumerate(index):
        for w in words.get(want[-1], []):
            lines.append(f"{'::'.join(want)}\t{w}")
    seen = set()
    for entry in lines:
        type_name, _, line = entry.partition("\t")
        i = protocol_of(type_name, index)
        if i is None or (i, line) in seen:
            continue  # the wire module's own test protocols
        seen.add((i, line))
        write("protocol_line", f"line-{i:02}-{len([s for s in seen if s[0] == i]):02}",
              bytes([i]) + line.encode())
    counts = {t.name: len(list(t.iterdir())) for t in sorted(SEEDS.iterdir())}
    print("seeds:", ", ".join(f"{k} {v}" for k, v in counts.items()))


if __name__ == "__main__":
    main()
