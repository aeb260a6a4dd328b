#!/usr/bin/env bash
# Builds podyard and starts the all-in-one cluster on its embedded defaults:
# API server with etcd in-process, scheduler, controllers and a node agent
# running pods as processes; data (credentials, kubeconfig, etcd, the
# agent's containers and logs) under $PODYARD_DATA.
set -euo pipefail
cd "$(dirname "$0")/.."
./hack/deps.sh
go build -o bin/podyard ./cmd/podyard
go build -o bin/podyard-runcommand ./cmd/podyard-runcommand
exec bin/podyard up --data-dir "${PODYARD_DATA:-$PWD/podyard-data}" --listen "${PODYARD_LISTEN:-127.0.0.1:6443}" "$@"
