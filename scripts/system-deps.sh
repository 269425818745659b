#!/usr/bin/env bash
# Install the Debian packages the test suite needs, when they are missing.
#
# Used by `make test` (as a prerequisite) and by .ci/run. As root it installs what is missing with
# apt-get; otherwise it prints the one `sudo apt-get install …` line needed and exits 1.
#   chromium               the browser tests (Playwright drives Debian's chromium)
#   postgresql             server binaries for the throwaway test cluster (initdb, pg_ctl)
#   fonts-dejavu-core      fonts for server-rendered charts and PDFs
#   r-base-core            R, the referee of the detector reference suite (tests/reference)
#   r-cran-surveillance    R's surveillance package (farringtonFlexible)
#   libatomic1             needed by the node driver inside the Playwright wheel
#   make                   the README's commands
set -euo pipefail

missing=()
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null || missing+=(postgresql)
{ command -v fc-list >/dev/null 2>&1 && fc-list | grep -qi dejavu; } || missing+=(fonts-dejavu-core)
command -v Rscript >/dev/null 2>&1 || missing+=(r-base-core)
{ command -v Rscript >/dev/null 2>&1 &&
    Rscript -e 'quit(status = !requireNamespace("surveillance", quietly = TRUE))' >/dev/null 2>&1; } ||
    missing+=(r-cran-surveillance)
{ ldconfig -p 2>/dev/null || /sbin/ldconfig -p; } | grep -q "libatomic.so.1 " || missing+=(libatomic1)
command -v make >/dev/null 2>&1 || missing+=(make)

if ((${#missing[@]} == 0)); then
    exit 0
fi
if [[ $(id -u) -ne 0 ]]; then
    echo "The tests need these Debian packages, which are missing: ${missing[*]}" >&2
    echo "Install them once with:" >&2
    echo "    sudo apt-get install --no-install-recommends ${missing[*]}" >&2
    exit 1
fi
echo "Installing the Debian packages the tests need: ${missing[*]}"
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
