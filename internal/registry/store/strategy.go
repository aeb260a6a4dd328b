// Package store holds what every Podyard resource's storage shares: a typed
// strategy built from pure validation functions, and the etcd-backed store
// constructor, so each resource package states only what is particular to it.
package store

import (
	"context"

	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/apiserver/pkg/storage/names"
	"sigs.k8s.io/structured-merge-diff/v6/fieldpath"
)

// Strategy implements the create, update and delete strategies of the
// generic registry for one Go type T from plain functions. Hooks left nil do
// nothing; validation left nil accepts everything.
type Strategy[T runtime.Object] struct {
	runtime.ObjectTyper
	names.NameGenerator

	Namespaced bool

	// PrepareCreate clears what a client may not set on create (usually status).
	PrepareCreate func(obj T)
	// PrepareUpdate copies from old what this endpoint may not change.
	PrepareUpdate func(obj, old T)

	ValidateCreate   func(obj T) field.ErrorList
	ValidateUpdateFn func(obj, old T) field.ErrorList

	// ResetFields are the top-level fields (e.g. "status") this endpoint
	// never changes; server-side apply drops them from applied configurations.
	ResetFields []string
	// APIVersion ("v1", "coordination.k8s.io/v1") keys ResetFields.
	APIVersion string

	// CreateOnUpdate lets PUT create a missing object (kube allows it for leases and events).
	CreateOnUpdate bool
}

// NewStrategy returns a strategy with the scheme as typer and kube's
// generateName behaviour (a 5-character random suffix).
func NewStrategy[T runtime.Object](typer runtime.ObjectTyper, namespaced bool) Strategy[T] {
	return Strategy[T]{ObjectTyper: typer, NameGenerator: names.SimpleNameGenerator, Namespaced: namespaced}
}

func (s Strategy[T]) NamespaceScoped() bool { return s.Namespaced }

func (s Strategy[T]) PrepareForCreate(_ context.Context, obj runtime.Object) {
	if s.PrepareCreate != nil {
		s.PrepareCreate(obj.(T))
	}
}

func (s Strategy[T]) PrepareForUpdate(_ context.Context, obj, old runtime.Object) {
	if s.PrepareUpdate != nil {
		s.PrepareUpdate(obj.(T), old.(T))
	}
}

func (s Strategy[T]) Validate(_ context.Context, obj runtime.Object) field.ErrorList {
	if s.ValidateCreate == nil {
		return nil
	}
	return s.ValidateCreate(obj.(T))
}

func (s Strategy[T]) ValidateUpdate(_ context.Context, obj, old runtime.Object) field.ErrorList {
	if s.ValidateUpdateFn == nil {
		return nil
	}
	return s.ValidateUpdateFn(obj.(T), old.(T))
}

func (Strategy[T]) WarningsOnCreate(context.Context, runtime.Object) []string { return nil }
func (Strategy[T]) WarningsOnUpdate(context.Context, runtime.Object, runtime.Object) []string {
	return nil
}
func (Strategy[T]) Canonicalize(runtime.Object)                {}
func (s Strategy[T]) AllowCreateOnUpdate(context.Context) bool { return s.CreateOnUpdate }

// AllowUnconditionalUpdate is true as in kube-apiserver: a PUT without
// resourceVersion overwrites; with one it is checked (409 when stale).
func (Strategy[T]) AllowUnconditionalUpdate(context.Context) bool { return true }

func (s Strategy[T]) GetResetFields() map[fieldpath.APIVersion]*fieldpath.Set {
	if len(s.ResetFields) == 0 {
		return nil
	}
	set := fieldpath.NewSet()
	for _, f := range s.ResetFields {
		set.Insert(fieldpath.MakePathOrDie(f))
	}
	return map[fieldpath.APIVersion]*fieldpath.Set{fieldpath.APIVersion(s.APIVersion): set}
}
