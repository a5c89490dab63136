#!/usr/bin/env bash
# Installs everything the test suite needs on a clean Debian machine, then runs lint and tests.
# Exit status is non-zero on any lint error, any failed test, or when no test ran.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v chromium >/dev/null 2>&1 && [ ! -x /usr/bin/chromium ]; then
  if [ "$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium >/dev/null
fi

export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1
python3 -m pip install -q --disable-pip-version-check -e '.[test]'

python3 -m ruff check src tests bench
set +e
python3 -m pytest -p no:cacheprovider "$@"
status=$?
set -e
if [ "$status" = 5 ]; then
  echo "pytest collected no tests: failing" >&2
  exit 1
fi
exit "$status"
