#!/usr/bin/env python3
"""Result sets and pages built to attack the report page (ci/check-page-payloads.sh):

    python3 ci/page_payloads.py sets FIXTURE OUT URL     # result sets with payloads in every free-text field
    python3 ci/page_payloads.py control OUT URL [CSP]    # the payloads as markup, under CSP when given
    python3 ci/page_payloads.py refused FIXTURE OUT      # payloads where the patterns allow none

Every payload, if it ever ran or loaded, would say so: it sets document.title
to EXECUTED..., sets window.__ipcExecuted, logs EXECUTED, or requests URL (the
page check's listener on 127.0.0.1) with a path naming the payload and field.
"""

import json
import pathlib
import shutil
import sys

# Each payload with {u}: the listener's URL, {t}: the field and file it is in.
PAYLOADS = [
    "<script>window.__ipcExecuted=1;document.title='EXECUTED {t}';fetch('{u}/script-{t}')</script>",
    "<img src=x onerror=\"window.__ipcExecuted=1;fetch('{u}/onerror-{t}')\">",
    "<img src=\"{u}/img-{t}\">",
    "<a href=\"javascript:window.__ipcExecuted=1;fetch('{u}/jsurl-{t}')\">click</a>",
    "</style><script>fetch('{u}/after-style-{t}')</script>",
    "</title><script>fetch('{u}/after-title-{t}')</script>",
    "</textarea></code></td></tr></table><script>fetch('{u}/after-table-{t}')</script>",
    "<svg onload=\"window.__ipcExecuted=1;fetch('{u}/svg-{t}')\"></svg>",
    "<svg><script>fetch('{u}/svg-script-{t}')</script><image href=\"{u}/svg-image-{t}\"/></svg>",
    "<iframe src=\"{u}/iframe-{t}\"></iframe>",
    "<iframe srcdoc=\"&lt;script&gt;parent.window.__ipcExecuted=1&lt;/script&gt;\"></iframe>",
    "<div style=\"background:url({u}/css-{t})\">x</div>",
    "<style>body{{background:url({u}/style-{t})}}@import url({u}/import-{t});</style>",
    "<link rel=stylesheet href=\"{u}/link-{t}\">",
    "<object data=\"{u}/object-{t}\"></object><embed src=\"{u}/embed-{t}\">",
    "<video src=\"{u}/video-{t}\"></video><audio src=\"{u}/audio-{t}\"></audio>",
    "<meta http-equiv=refresh content=\"0;url={u}/refresh-{t}\">",
    "<base href=\"{u}/base-{t}/\">",
    "<form action=\"{u}/form-{t}\"><button>x</button></form>",
    "\"><script>fetch('{u}/attr-{t}')</script><x title=\"",
    "' onmouseover='fetch(\"{u}/quote-{t}\")' x='",
    "<math><mi xlink:href=\"javascript:fetch('{u}/math-{t}')\">x</mi></math>",
    "<script src=\"{u}/ext-{t}.js\"></script>",
    "<x onfocus=\"window.__ipcExecuted=1\" autofocus tabindex=1>x</x>",
    "javascript:fetch('{u}/bare-{t}')",
    "${{7*7}} {{{{7*7}}}} <!-- x --> <![CDATA[x]]> &lt;escaped&gt; &amp;",
]
# What runs or loads without navigating away: the controls' payloads.
CONTROL = [0, 1, 2, 7, 9, 11, 12, 13, 22]

RUN_TEXT = ["os_version", "kernel", "libc", "runtime_detail"]
RESULT_TEXT = [("detail",), ("expected", "reason"), ("expected", "source")]


def payloads(url, tag, which=None):
    chosen = PAYLOADS if which is None else [PAYLOADS[i] for i in which]
    return " ".join(p.format(u=url, t=tag) for p in chosen)


def fill(record, path, value):
    for key in path[:-1]:
        record = record[key]
    record[path[-1]] = value


def write_set(src, out, url, name, run_changes):
    """A copy of the result set src with payloads in every free-text field."""
    dst = out / name
    shutil.copytree(src, dst)
    run = json.loads((dst / "run.json").read_text())
    run.update(run_changes)
    for field in RUN_TEXT:
        prefix = "Linux 6.1.0 " if field == "kernel" and run["os"] == "linux" else ""
        if field == "kernel" and "6.18" in run["run_id"]:
            prefix = "Linux 6.18.2 "
        run[field] = prefix + payloads(url, f"{name}-{field}")
    (dst / "run.json").write_text(json.dumps(run, indent=1))
    for path in sorted((dst / "results").glob("*.json")):
        rec = json.loads(path.read_text())
        for field in RESULT_TEXT:
            fill(rec, field, payloads(url, f"{name}-{path.stem}-{'.'.join(field)}"))
        # A second version of Linux that observes otherwise: the Since section
        # shows both runs' evidence.
        if "6-18" in name and path.stem == "tcp.available":
            rec["observed"] = "no" if rec["observed"] != "no" else "yes"
        path.write_text(json.dumps(rec, indent=1))


def sets(fixture, out, url):
    out.mkdir(parents=True, exist_ok=True)
    write_set(fixture, out, url, "wine", {})
    linux = {"platform": "linux-x86_64-gnu", "os": "linux", "runtime": "native",
             "target": "x86_64-unknown-linux-gnu"}
    write_set(fixture, out, url, "linux-6-1", dict(linux, run_id="payloads-linux-6.1"))
    write_set(fixture, out, url, "linux-6-18", dict(linux, run_id="payloads-linux-6.18"))


def control(out, url, csp):
    meta = f'<meta http-equiv="Content-Security-Policy" content="{csp}">' if csp else ""
    body = payloads(url, "control", CONTROL)
    out.write_text(f"<!DOCTYPE html><html><head><meta charset=utf-8>{meta}<title>control</title></head>"
                   f"<body><table><tr><td>{body}</td></tr></table>{'x' * 300}</body></html>\n")


def refused(fixture, out):
    """One set per place where the patterns leave no room for markup."""
    for name, change in [("measured-name", ("name", "<script>")), ("measured-unit", ("unit", "<b>x</b>"))]:
        dst = out / name
        shutil.copytree(fixture, dst)
        path = dst / "results" / "perf.latency_pipe.json"
        rec = json.loads(path.read_text())
        quantity = {"name": "median_ns", "value": 1.0, "unit": "ns"}
        quantity[change[0]] = change[1]
        rec["measured"] = [quantity]
        path.write_text(json.dumps(rec))


def main():
    cmd, args = sys.argv[1], sys.argv[2:]
    if cmd == "sets":
        sets(pathlib.Path(args[0]), pathlib.Path(args[1]), args[2])
    elif cmd == "control":
        control(pathlib.Path(args[0]), args[1], args[2] if len(args) > 2 else "")
    elif cmd == "refused":
        refused(pathlib.Path(args[0]), pathlib.Path(args[1]))
    else:
        sys.exit(f"unknown command {cmd}")


if __name__ == "__main__":
    main()
