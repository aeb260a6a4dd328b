#!/usr/bin/env bash
# Regenerates the deep copies of Podyard's own API types, and the OpenAPI definitions the
# server publishes on /openapi/v2 and /openapi/v3 (kubectl explain and fieldValidation=Strict
# read them).
set -euo pipefail
cd "$(dirname "$0")/.."
go tool deepcopy-gen \
  --output-file zz_generated.deepcopy.go \
  --go-header-file hack/boilerplate.go.txt \
  ./internal/apis/podyard/v1alpha1 ./internal/apis/bcs/v1alpha1

# Kubernetes' packages already carry their model names; only ours get them generated.
kube=(
  k8s.io/api/admissionregistration/v1
  k8s.io/api/authentication/v1 k8s.io/api/authorization/v1 k8s.io/api/core/v1
  k8s.io/api/coordination/v1 k8s.io/api/policy/v1
  k8s.io/apimachinery/pkg/apis/meta/v1 k8s.io/apimachinery/pkg/runtime
  k8s.io/apimachinery/pkg/version k8s.io/apimachinery/pkg/api/resource
  k8s.io/apimachinery/pkg/util/intstr
)
readonly=()
for p in "${kube[@]}"; do readonly+=(--readonly-pkg "$p"); done
go tool openapi-gen \
  --output-dir internal/generated/openapi \
  --output-pkg github.com/podyard/podyard/internal/generated/openapi \
  --output-file zz_generated.openapi.go \
  --output-model-name-file zz_generated.model_name.go \
  "${readonly[@]}" \
  --go-header-file hack/boilerplate.go.txt \
  --report-filename /dev/null \
  "${kube[@]}" github.com/podyard/podyard/internal/apis/podyard/v1alpha1 \
  github.com/podyard/podyard/internal/apis/bcs/v1alpha1
