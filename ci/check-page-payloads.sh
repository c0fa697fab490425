#!/usr/bin/env bash
# Attacks the report page through its input and shows that nothing gets through:
# result sets with markup and script payloads in every free-text field
# (os_version, kernel, libc, runtime_detail, detail, expected.reason,
# expected.source: <script>, <img onerror>, javascript: URLs, </style>,
# <svg onload>, <iframe>, CSS url(), <meta refresh>, <base>, attribute
# breakouts..., ci/page_payloads.py), a Wine run and two Linux versions, are
# rendered by `ipcconf report` and the page is opened in headless Chromium
# (ci/check-report-page.sh, ci/page_check.py): nothing may run, nothing may be
# requested (the payloads aim at a listener on 127.0.0.1, and every request the
# page makes is recorded), and the page's Content-Security-Policy must have had
# nothing to block. Two controls show the watching sees an attack: the same
# payloads as raw markup run and load without a policy, and are blocked (and
# reported) under the report's own policy. Payloads where a pattern leaves no
# room (measured names and units) must be refused (exit 2).
#
#   ci/check-page-payloads.sh [--out DIR]
#
# DIR (default target/page-payloads) keeps the sets, the pages and screenshots.
set -euo pipefail
CI_NAME=check-page-payloads
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

only_out_option "$TARGET_DIR/page-payloads" "$@"
fresh_dir "$out"
fixture="$ROOT/tests/fixtures/wine-first-run"
port="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
url="http://127.0.0.1:$port"
log "payloads aim at $url"

ipcconf() { (cd "$ROOT" && cargo run -q --locked --bin ipcconf -- "$@"); }

python3 "$CI_DIR/page_payloads.py" sets "$fixture" "$out/sets" "$url"
step "ipcconf report of the payload sets" ipcconf report --results "$out/sets" --out "$out/report" >&2
page="$out/report/index.html"
csp="$(sed -n 's/.*<meta http-equiv="Content-Security-Policy" content="\([^"]*\)">.*/\1/p' "$page" | head -n 1)"
[ -n "$csp" ] || die "$page has no Content-Security-Policy"
log "the page's policy: $csp"
for field in os_version kernel libc runtime_detail detail expected.reason expected.source; do
  grep -q -- "-$field" "$page" || die "no payload of $field reached the page as text"
done

python3 "$CI_DIR/page_payloads.py" control "$out/control-open.html" "$url"
python3 "$CI_DIR/page_payloads.py" control "$out/control-policy.html" "$url" "$csp"
page_check() { "$CI_DIR/check-report-page.sh" "$@" --listen "$port"; }
step "control: the payloads as markup, no policy: the watching sees them run and load" \
  page_check "$out/control-open.html" --screenshot "$out/control-open.png" --expect executed
step "control: the payloads as markup under the report's policy: blocked, and reported" \
  page_check "$out/control-policy.html" --screenshot "$out/control-policy.png" --expect blocked
step "the report page with payloads in every free-text field: nothing runs, nothing is fetched" \
  page_check "$page" --screenshot "$out/report/index.png" --expect clean

python3 "$CI_DIR/page_payloads.py" refused "$fixture" "$out/refused"
for set in "$out"/refused/*; do
  rc=0
  ipcconf report --results "$set" --out "$out/refused-report" 2>"$out/refused.err" >/dev/null || rc=$?
  [ "$rc" -eq 2 ] || die "$(basename "$set"): ipcconf exited $rc, not 2"
  grep -q "field measured" "$out/refused.err" || die "$(basename "$set"): the field is not named: $(cat "$out/refused.err")"
  log "$(basename "$set"): refused: $(cat "$out/refused.err")"
done
[ ! -e "$out/refused-report" ] || die "a refused set wrote a report"
log "nothing ran, nothing was fetched, nothing had to be blocked; the controls show the watching works"
