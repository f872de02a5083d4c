#!/usr/bin/env bash
# Make sure Debian's chromium is installed for the browser tests (tests/browser/),
# with a Japanese font so that screenshots of the Japanese client are legible.
# Playwright drives /usr/bin/chromium; it never downloads a browser of its own.
#
# When chromium cannot be installed, this prints one line and carries on: the
# browser tests then fail, naming what is missing (they never skip).
set -uo pipefail

CHROMIUM=/usr/bin/chromium

say() { echo "browser: $*"; }

packages=()
[[ -x "$CHROMIUM" ]] || packages+=(chromium)
if command -v fc-list >/dev/null 2>&1 && [[ -z "$(fc-list :lang=ja 2>/dev/null)" ]]; then
    packages+=(fonts-noto-cjk)
fi
[[ ${#packages[@]} -eq 0 ]] && exit 0

if [[ "$(id -u)" -eq 0 ]]; then
    sudo=()
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    sudo=(sudo -n)
else
    say "cannot install ${packages[*]} (not root and no sudo): run 'apt-get install -y ${packages[*]}' as root"
    exit 0
fi

log="$(mktemp)"
if ! DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y "${packages[@]}" >"$log" 2>&1; then
    # The package lists may be missing or stale (a fresh container): refresh them once.
    "${sudo[@]}" apt-get update >>"$log" 2>&1
    DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y "${packages[@]}" >>"$log" 2>&1
fi
if [[ -x "$CHROMIUM" ]]; then
    say "installed ${packages[*]}"
else
    say "could not install chromium with apt-get ($(tail -n 1 "$log")): the browser tests will fail"
fi
rm -f "$log"
exit 0
