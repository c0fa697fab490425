#!/usr/bin/env python3
"""Reads ci/columns.toml, the one list of the report's columns, for the
scripts and the workflow (Python 3.11 or later: tomllib).

    ci/columns.py ids [--ci | --local]   the column ids, one a line
    ci/columns.py local                  the local runs: NAME, GROUP, ID, SET, then
                                         the command and its arguments, tab-separated
    ci/columns.py matrix                 JOB={"include": [...]} per workflow job,
                                         for $GITHUB_OUTPUT
    ci/columns.py check WORKFLOW         the workflow against the list (PyYAML):
                                         every difference named, exit 1 on any

--columns FILE (before the command) reads another list (default: the
columns.toml beside this script). A malformed list exits 2 naming the column.
"""

import argparse
import json
import os
import re
import sys
import tomllib

HERE = os.path.dirname(os.path.abspath(__file__))
ID = re.compile(r"^([a-z][a-z0-9_]*(?:-[a-z0-9_]+)*) \((native|qemu-user|wine|vm)\)$")
# The job that prints the matrices, and the output each column job reads.
COLUMNS_JOB = "columns"


class ListError(Exception):
    pass


def as_list(value):
    """A table or an array of tables, as a list."""
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def load(path):
    """The columns, checked: [{"id", "platform", "runtime", "local": [...], "ci": [...]}]."""
    with open(path, "rb") as f:
        doc = tomllib.load(f)
    unknown = set(doc) - {"column"}
    if unknown:
        raise ListError("%s: unknown keys %s (only [[column]])" % (path, sorted(unknown)))
    columns, seen, names = [], set(), set()
    for n, c in enumerate(doc.get("column", []), 1):
        where = "%s: column %d (%s)" % (path, n, c.get("id", "no id"))
        m = ID.match(str(c.get("id", "")))
        if not m:
            raise ListError("%s: id must be \"platform (runtime)\", runtime one of native, qemu-user, wine, vm" % where)
        if c["id"] in seen:
            raise ListError("%s: listed twice" % where)
        seen.add(c["id"])
        extra = set(c) - {"id", "local", "ci"}
        if extra:
            raise ListError("%s: unknown keys %s" % (where, sorted(extra)))
        col = {"id": c["id"], "platform": m.group(1), "runtime": m.group(2), "local": [], "ci": []}
        for loc in as_list(c.get("local")):
            if set(loc) - {"name", "run", "versions"} or not loc.get("name") or not loc.get("run"):
                raise ListError("%s: local takes name, run and optionally versions" % where)
            versions = loc.get("versions")
            for version in versions or [None]:
                name = loc["name"] + ("-%s" % version if version else "")
                if name in names:
                    raise ListError("%s: local name %s is taken" % (where, name))
                names.add(name)
                run = [str(a).replace("{version}", str(version)) for a in loc["run"]]
                col["local"].append({
                    "name": name,
                    "group": loc["name"],
                    "set": result_set(col, version),
                    "run": run,
                })
        for ci in as_list(c.get("ci")):
            if not ci.get("job"):
                raise ListError("%s: ci needs a job" % where)
            lists = [k for k, v in ci.items() if isinstance(v, list)]
            if len(lists) > 1:
                raise ListError("%s: ci has more than one list (%s)" % (where, ", ".join(lists)))
            if "platform" in ci:
                raise ListError("%s: ci's platform comes from the id" % where)
            col["ci"].append(ci)
        if not col["local"] and not col["ci"]:
            raise ListError("%s: runs nowhere (give it local, ci or both)" % where)
        columns.append(col)
    return columns


def result_set(col, version=None):
    """target/ipc-sets/<this>: the platform, its runtime unless native, the version."""
    parts = [col["platform"]]
    if col["runtime"] != "native":
        parts.append(col["runtime"])
    if version:
        parts.append(str(version))
    return "-".join(parts)


def matrices(columns):
    """{job: [matrix entry, ...]}, in the list's order."""
    jobs = {}
    for col in columns:
        for ci in col["ci"]:
            fixed = {k: v for k, v in ci.items() if k != "job" and not isinstance(v, list)}
            spread = [(k, v) for k, v in ci.items() if isinstance(v, list)]
            values = spread[0][1] if spread else [None]
            for value in values:
                entry = {"platform": col["platform"], **fixed}
                if spread:
                    entry[spread[0][0]] = value
                jobs.setdefault(ci["job"], []).append(entry)
    return jobs


def check(columns, workflow_path, list_name="ci/columns.toml"):
    """Every difference between the workflow and the list, as sentences."""
    import yaml  # only the check needs it

    with open(workflow_path) as f:
        wf = yaml.safe_load(f)
    jobs = wf.get("jobs", {})
    wanted = matrices(columns)
    problems = []
    wf_name = os.path.relpath(workflow_path)

    producer = jobs.get(COLUMNS_JOB)
    if producer is None:
        problems.append("%s has no job %r that prints the matrices (ci/columns.py matrix)" % (wf_name, COLUMNS_JOB))
        producer = {}
    steps_text = "\n".join(str(s.get("run", "")) for s in producer.get("steps", []))
    if producer and "ci/columns.py matrix" not in steps_text:
        problems.append("job %s does not run ci/columns.py matrix" % COLUMNS_JOB)
    outputs = producer.get("outputs", {}) or {}

    for job, entries in wanted.items():
        if job not in jobs:
            problems.append("%s names job %s, which %s lacks" % (list_name, job, wf_name))
            continue
        j = jobs[job]
        if job not in outputs:
            problems.append("job %s has no output %s for job %s's matrix" % (COLUMNS_JOB, job, job))
        needs = as_list(j.get("needs"))
        if COLUMNS_JOB not in needs:
            problems.append("job %s does not need %s" % (job, COLUMNS_JOB))
        matrix = (j.get("strategy") or {}).get("matrix")
        expr = "${{ fromJSON(needs.%s.outputs.%s) }}" % (COLUMNS_JOB, job)
        if matrix != expr:
            problems.append("job %s's matrix is not %s but %s" % (job, expr, json.dumps(matrix)))
        # The matrix keys the job reads against those the list gives: every
        # key read anywhere is given by some entry, every key given is read,
        # and the keys that name the job, its runner and its result set
        # (name, runs-on, env) are given by every entry.
        keys = lambda v: set(re.findall(r"matrix\.([A-Za-z_][A-Za-z0-9_-]*)", json.dumps(v)))
        used = keys(j)
        required = keys([j.get("name"), j.get("runs-on"), j.get("env")])
        given = set().union(*(e.keys() for e in entries))
        for key in sorted(used - given):
            problems.append("job %s reads matrix.%s, which no entry of %s gives it" % (job, key, list_name))
        for key in sorted(given - used):
            ids = [c["id"] for c in columns for ci in c["ci"] if ci["job"] == job and (key in ci or key == "platform")]
            problems.append("%s gives job %s the key %s (%s), which the job never reads"
                            % (list_name, job, key, ", ".join(ids)))
        for key in sorted(required & given):
            for col in columns:
                for ci in col["ci"]:
                    if ci["job"] == job and key != "platform" and key not in ci:
                        problems.append("%s: %s runs in job %s without %s, which the job's name, runner or result set reads"
                                        % (list_name, col["id"], job, key))

    # A job that uploads a result set is a column job of the list.
    for name, j in jobs.items():
        uploads = [s for s in j.get("steps", []) if str(s.get("uses", "")).startswith("actions/upload-artifact")
                   and str((s.get("with") or {}).get("name", "")).startswith("ipc-results-")]
        if uploads and name not in wanted:
            problems.append("job %s uploads result sets but no column of %s names it" % (name, list_name))

    report = jobs.get("report", {})
    missing = [job for job in wanted if job not in as_list(report.get("needs"))]
    if missing:
        problems.append("job report does not need %s" % ", ".join(missing))
    if "--expect-columns ci" not in "\n".join(str(s.get("run", "")) for s in report.get("steps", [])):
        problems.append("job report does not merge with ci/merge.sh --expect-columns ci")
    return problems


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--columns", default=os.path.join(HERE, "columns.toml"))
    sub = ap.add_subparsers(dest="command", required=True)
    ids = sub.add_parser("ids")
    where = ids.add_mutually_exclusive_group()
    where.add_argument("--ci", action="store_true")
    where.add_argument("--local", action="store_true")
    sub.add_parser("local")
    sub.add_parser("matrix")
    chk = sub.add_parser("check")
    chk.add_argument("workflow")
    args = ap.parse_args()
    try:
        columns = load(args.columns)
    except (ListError, tomllib.TOMLDecodeError, OSError) as e:
        print("columns.py: %s" % e, file=sys.stderr)
        sys.exit(2)

    if args.command == "ids":
        for col in columns:
            if (args.ci and not col["ci"]) or (args.local and not col["local"]):
                continue
            print(col["id"])
    elif args.command == "local":
        for col in columns:
            for loc in col["local"]:
                print("\t".join([loc["name"], loc["group"], col["id"], loc["set"]] + loc["run"]))
    elif args.command == "matrix":
        for job, entries in matrices(columns).items():
            print("%s=%s" % (job, json.dumps({"include": entries}, separators=(",", ":"))))
    elif args.command == "check":
        problems = check(columns, args.workflow, os.path.relpath(args.columns))
        for p in problems:
            print("columns.py: %s" % p, file=sys.stderr)
        if problems:
            sys.exit(1)
        print("%s and %s agree: %d columns, %d in CI (jobs %s), %d here"
              % (os.path.relpath(args.workflow), os.path.relpath(args.columns), len(columns),
                 sum(1 for c in columns if c["ci"]), ", ".join(matrices(columns)),
                 sum(1 for c in columns if c["local"])))


if __name__ == "__main__":
    main()
