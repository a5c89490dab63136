#!/usr/bin/env bash
# Installs everything the test suite needs on a clean Debian machine, then runs lint and tests.
# Python packages go into the project's own virtual environment (.venv, made on first use,
# reused after; STORJ_MONITOR_VENV names another), never into the system Python, which
# Debian 12 and Ubuntu 24.04 refuse to install into (externally-managed-environment).
# Exit status is non-zero on any lint or type error, any failed test, or when no test ran.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi
apt_updated=""
apt_install() {
  [ -n "$apt_updated" ] || { $SUDO apt-get update -qq; apt_updated=1; }
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "$@" >/dev/null
}

python3 -c 'import sys; sys.exit(sys.version_info < (3, 11))' || {
  echo "storj_monitor needs Python >= 3.11 (found $(python3 --version 2>&1))" >&2; exit 1; }
python3 -c 'import venv, ensurepip' 2>/dev/null || apt_install python3-venv
if ! command -v chromium >/dev/null 2>&1 && [ ! -x /usr/bin/chromium ]; then
  apt_install chromium
fi

venv=${STORJ_MONITOR_VENV:-.venv}
[ -x "$venv/bin/python" ] || python3 -m venv "$venv"
py="$venv/bin/python"
export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1
"$py" -m pip install -q --disable-pip-version-check -e '.[test]'

"$py" -m ruff check src tests bench
"$py" -m mypy  # the whole package, settings in pyproject.toml [tool.mypy]
set +e
"$py" -m pytest -p no:cacheprovider "$@"
status=$?
set -e
if [ "$status" = 5 ]; then
  echo "pytest collected no tests: failing" >&2
  exit 1
fi
exit "$status"
