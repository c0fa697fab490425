#!/usr/bin/env python3
"""Generates, from .github/workflows/portability.yml, the copy that wrkflw's
emulation runtime runs on this Linux x86_64 machine (ci/run-workflow-here.sh).

    python3 ci/wrkflw_copy.py WORKFLOW OUT [--with-target TRIPLE]... [--columns FILE]

Only what the emulator needs is changed, each change named in the copy's
header; every step and expression of the jobs kept is the workflow's own:

- jobs: `native` (its Linux x86_64 legs: ubuntu-* runners, not -arm; a leg
  that needs a Rust target is kept only when given with --with-target, i.e.
  installed here) and `report` (its `needs` cut to `native`); the FreeBSD,
  cross, Wine and Pages jobs need machines, containers or GitHub itself;
- `native`'s matrix, which GitHub takes from the `columns` job's output
  (`fromJSON(needs.columns.outputs.native)`), is written out from the list
  that job reads (ci/columns.toml beside the workflow's ci/, or --columns;
  ci/columns.py matrix), and the `columns` job is left out: wrkflw 0.8.0
  takes a matrix only as a mapping ("invalid type: string ..., expected
  struct MatrixConfig" when it parses the workflow);
- a matrix of `include` entries alone (which GitHub expands, one combination
  each) gets a `leg` list and a `leg` number in each entry: wrkflw refuses a
  matrix without a list ("Matrix has no valid parameters");
- after each actions/checkout: the files the emulated checkout leaves out
  (it skips hidden files: .cargo/config.toml holds the cargo ipc-report
  alias) are copied from $GITHUB_WORKSPACE, the tree wrkflw runs in;
- actions/upload-artifact: the emulator takes one glob of files, so a path
  naming a directory becomes `DIR/**/*` and a list of paths becomes one step
  per path (artifact NAME, NAME-2, ...); it fails the step when no file
  matches, which GitHub does only with `if-no-files-found: error`, so the
  others continue on error;
- after actions/download-artifact: the emulator keeps each file's path
  relative to the uploading job's workspace (ipc-sets/<set>/run.json); the
  step added moves every artifact's files to its root, where
  actions/download-artifact puts the uploaded directory's contents;
- the report job's steps named in --skip-step (the page check without a
  browser) print SKIPPED instead of running;
- at the end of the report job, a step copies the report, the drafted patch,
  the result sets and the job summary to $WRKFLW_OUT.
"""

import argparse
import copy
import os
import sys

import yaml

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import columns  # noqa: E402  (ci/columns.py, beside this file)


class Literal(str):
    """A string dumped as a YAML block scalar."""


def literal_representer(dumper, data):
    return dumper.represent_scalar("tag:yaml.org,2002:str", data, style="|")


yaml.add_representer(Literal, literal_representer, Dumper=yaml.SafeDumper)


def blockify(node):
    """Multi-line strings as block scalars, so the copy reads like the original."""
    if isinstance(node, dict):
        return {k: blockify(v) for k, v in node.items()}
    if isinstance(node, list):
        return [blockify(v) for v in node]
    if isinstance(node, str) and "\n" in node:
        return Literal(node if node.endswith("\n") else node + "\n")
    return node


def uses(step, action):
    return str(step.get("uses", "")).split("@")[0] == action


def is_directory(path):
    """Whether an upload path names a directory: its last part is an
    expression or has no file extension."""
    last = path.rstrip("/").split("/")[-1]
    return "${{" in last or "." not in last


RESTORE_HIDDEN = {
    "name": "Files the emulated checkout leaves out (wrkflw copy)",
    "run": Literal(
        'for f in .cargo .config .gitattributes; do\n'
        '  if [ -e "$GITHUB_WORKSPACE/$f" ] && [ ! -e "$f" ]; then cp -R "$GITHUB_WORKSPACE/$f" .; fi\n'
        "done\n"
    ),
}


def flatten_step(path):
    return {
        "name": "The artifact layout of actions/download-artifact (wrkflw copy)",
        "env": {"DOWNLOADED": path},
        "run": Literal(
            "# Each artifact's files at its root, as the uploaded directory's contents.\n"
            'for a in "$DOWNLOADED"/*/; do\n'
            '  d="${a%/}"\n'
            "  inner=\"$d\"\n"
            '  while [ -z "$(find "$inner" -maxdepth 1 -type f | head -n 1)" ] &&\n'
            '    [ "$(find "$inner" -mindepth 1 -maxdepth 1 -type d | wc -l)" -eq 1 ]; do\n'
            '    inner="$(find "$inner" -mindepth 1 -maxdepth 1 -type d)"\n'
            "  done\n"
            '  if [ "$inner" != "$d" ]; then\n'
            '    tmp="$d.flat"\n'
            '    mv "$inner" "$tmp" && rm -rf "$d" && mv "$tmp" "$d"\n'
            '    echo "$d: the files of $(basename "$inner")"\n'
            "  fi\n"
            "done\n"
        ),
    }


KEEP_OUTPUTS = {
    "name": "Keep the report, the draft and the summary (wrkflw copy)",
    "if": "${{ always() }}",
    "run": Literal(
        'out="${WRKFLW_OUT:?}"\n'
        'mkdir -p "$out"\n'
        "for d in site page-check platforms-draft ipc-sets; do\n"
        '  if [ -e "$d" ]; then rm -rf "${out:?}/$d"; cp -R "$d" "$out/"; fi\n'
        "done\n"
        'cp "$GITHUB_STEP_SUMMARY" "$out/step-summary.md"\n'
        'echo "kept in $out: $(ls "$out" | tr \'\\n\' \' \')"\n'
    ),
}


def adapt_steps(steps, skip):
    out = []
    for step in steps:
        if step.get("name") in skip:
            step = {
                "name": step["name"],
                "run": 'echo "SKIPPED here (wrkflw copy): %s"' % skip[step["name"]],
            }
        if uses(step, "actions/upload-artifact"):
            paths = [p.strip() for p in str(step["with"]["path"]).splitlines() if p.strip()]
            for i, p in enumerate(paths):
                s = copy.deepcopy(step)
                # GitHub fails the step for want of files only with
                # if-no-files-found: error; the emulator always does.
                if s["with"].get("if-no-files-found", "warn") != "error":
                    s["continue-on-error"] = True
                s["with"]["path"] = p.rstrip("/") + "/**/*" if is_directory(p) else p
                if i:
                    s["with"]["name"] = "%s-%d" % (s["with"]["name"], i + 1)
                    s["name"] = "%s (%s)" % (step.get("name", "upload"), p)
                out.append(s)
            continue
        out.append(step)
        if uses(step, "actions/checkout"):
            out.append(dict(RESTORE_HIDDEN))
        if uses(step, "actions/download-artifact"):
            out.append(flatten_step(step.get("with", {}).get("path", ".")))
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("workflow")
    ap.add_argument("out")
    ap.add_argument("--with-target", action="append", default=[])
    ap.add_argument("--skip-step", action="append", default=[], metavar="NAME=WHY")
    ap.add_argument("--columns", help="the list of columns (default: ci/columns.toml of the workflow's checkout)")
    args = ap.parse_args()
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(args.workflow))))
    include = columns.matrices(columns.load(args.columns or os.path.join(root, "ci", "columns.toml")))["native"]
    skip = dict(s.split("=", 1) for s in args.skip_step)

    with open(args.workflow) as f:
        wf = yaml.safe_load(f)
    # YAML 1.1 reads the key `on` as true.
    order = list(wf)
    if True in wf:
        wf["on"] = wf.pop(True)

    jobs = wf["jobs"]
    native = jobs["native"]
    native.pop("needs", None)  # the columns job, whose output is written out here
    legs = [
        leg
        for leg in include
        if str(leg["runner"]).startswith("ubuntu-")
        and not str(leg["runner"]).endswith("-arm")
        and all(t in args.with_target for t in str(leg.get("targets", "")).split())
    ]
    dropped = [
        "%s (%s)" % (leg["platform"], leg["runner"]) for leg in include if leg not in legs
    ]
    if not legs:
        sys.exit("no Linux x86_64 leg of the native job to run")
    native["strategy"]["matrix"] = {
        "leg": list(range(1, len(legs) + 1)),
        "include": [dict(leg, leg=i) for i, leg in enumerate(legs, 1)],
    }
    report = jobs["report"]
    report["needs"] = ["native"]
    for job in (native, report):
        job["steps"] = adapt_steps(job["steps"], skip)
    report["steps"].append(dict(KEEP_OUTPUTS))
    wf["jobs"] = {"native": native, "report": report}
    wf["name"] = "%s (wrkflw copy: Linux legs and report)" % wf.get("name", "workflow")
    # `on` back in its place (it was read as the key true).
    wf = {("on" if k is True else k): (wf["on"] if k is True else wf[k]) for k in order}

    header = [
        "# GENERATED by ci/wrkflw_copy.py from %s: do not edit." % args.workflow,
        "# The Linux x86_64 legs of `native` and the `report` job, as wrkflw's",
        "# emulation runtime runs them (ci/run-workflow-here.sh). Changed for the",
        "# emulator (see ci/wrkflw_copy.py): the matrix (written out from",
        "# ci/columns.toml, leg numbers), steps marked \"(wrkflw copy)\", upload",
        "# paths as globs of files. Legs not run here:",
    ] + ["#   %s" % d for d in dropped] + [
        "# Jobs not run here: %s."
        % ", ".join(j for j in yaml.safe_load(open(args.workflow))["jobs"] if j not in wf["jobs"]),
        "",
    ]
    with open(args.out, "w") as f:
        f.write("\n".join(header))
        yaml.safe_dump(blockify(wf), f, sort_keys=False, width=1000, allow_unicode=True)
    print("\n".join("kept leg: %s (%s)" % (l["platform"], l["runner"]) for l in legs))


if __name__ == "__main__":
    main()
