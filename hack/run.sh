#!/usr/bin/env bash
# Builds podyard and starts it on its embedded defaults: etcd in-process,
# data (credentials, kubeconfig, etcd) under $PODYARD_DATA.
set -euo pipefail
cd "$(dirname "$0")/.."
./hack/deps.sh
go build -o bin/podyard ./cmd/podyard
exec bin/podyard server --data-dir "${PODYARD_DATA:-$PWD/podyard-data}" --listen "${PODYARD_LISTEN:-127.0.0.1:6443}" "$@"
