#!/usr/bin/env bash
# Runs every test: vet, unit tests and the end-to-end suite (the real
# binary driven by kubectl and client-go) against embedded etcd, then the
# end-to-end suite once more against a separate etcd server process.
set -euo pipefail
cd "$(dirname "$0")/.."
./hack/deps.sh
test -z "$(gofmt -l $(git ls-files '*.go'))" || { echo "gofmt needed:"; gofmt -l $(git ls-files '*.go'); exit 1; }
go vet ./...
go test -count=1 -timeout 20m ./...
PODYARD_E2E_ETCD=external go test -count=1 -timeout 20m ./test/e2e/...
