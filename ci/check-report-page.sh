#!/usr/bin/env bash
# Opens the generated report page in headless Chromium, as people will see it:
# fails on any console error, uncaught exception or failed load, fails on a page
# with no tables, and saves a full-page screenshot (capped at 6000 px).
#
#   ci/check-report-page.sh [PAGE] [--screenshot PNG] [--expect clean|blocked|executed --listen PORT]
#
# PAGE defaults to target/ipc-report/index.html; PNG to PAGE's directory/index.png.
# --expect and --listen also watch what the page's content runs, requests and
# has blocked by its policy (ci/page_check.py; ci/check-page-payloads.sh).
# Chromium: $CHROMIUM, else chromium / google-chrome on PATH, else Debian's
# `chromium` package is installed (idempotently; needs apt, as on Debian and CI).
set -euo pipefail
CI_NAME=check-report-page
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

page="" shot="" watch=()
while [ $# -gt 0 ]; do
  case "$1" in
    --screenshot) shot="$2"; shift 2 ;;
    --expect | --listen) watch+=("$1" "$2"); shift 2 ;;
    -h | --help) usage; exit 0 ;;
    -*) die "unknown argument $1 (see --help)" ;;
    *) page="$1"; shift ;;
  esac
done
page="${page:-$TARGET_DIR/ipc-report/index.html}"
[ -f "$page" ] || die "$page does not exist (run the report first: cargo ipc-report, or ci/run-local-platforms.sh)"
shot="${shot:-$(dirname "$page")/index.png}"

browser="${CHROMIUM:-}"
if [ -z "$browser" ]; then
  for b in chromium google-chrome google-chrome-stable chromium-browser; do
    if command -v "$b" >/dev/null 2>&1; then browser="$(command -v "$b")"; break; fi
  done
fi
if [ -z "$browser" ]; then
  command -v apt-get >/dev/null 2>&1 || die "no Chromium found and no apt-get to install it: set CHROMIUM=/path/to/chromium"
  step "install chromium" apt_install chromium
  browser="$(command -v chromium)"
fi
log "browser: $browser ($("$browser" --version 2>/dev/null | head -n 1))"

exec python3 "$CI_DIR/page_check.py" --browser "$browser" --page "$page" --screenshot "$shot" \
  --expect-selector table ${watch[@]+"${watch[@]}"}
