#!/usr/bin/env bash
# Makes sure what building and testing Podyard needs is on this machine:
# Go (the toolchain go.mod names) and kubectl, the real client the
# end-to-end tests drive. Everything else comes from the Go module proxy.
set -euo pipefail

if ! command -v go >/dev/null 2>&1; then
  if [ -x /usr/local/go/bin/go ]; then
    export PATH="/usr/local/go/bin:$PATH"
  else
    echo "deps: Go is not installed (expected /usr/local/go); install Go $(awk '/^go /{print $2}' "$(dirname "$0")/../go.mod")" >&2
    exit 1
  fi
fi

if ! command -v kubectl >/dev/null 2>&1; then
  echo "deps: installing kubectl from the Debian package sources" >&2
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq kubectl || $SUDO apt-get install -y -qq google-cloud-cli-kubectl
fi

go mod download
