// Package event stores core/v1 Events, which expire an hour after their last write.
package event

import (
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apiserver/pkg/registry/generic"
	genericregistry "k8s.io/apiserver/pkg/registry/generic/registry"

	"github.com/podyard/podyard/internal/apis/core/validation"
	"github.com/podyard/podyard/internal/printers"
	"github.com/podyard/podyard/internal/registry/store"
)

const ttlSeconds = 60 * 60

// NewStorage builds the event store.
func NewStorage(typer runtime.ObjectTyper, opts generic.RESTOptionsGetter) (*genericregistry.Store, error) {
	s := store.NewStrategy[*corev1.Event](typer, true)
	s.ValidateCreate = validation.ValidateEvent
	s.ValidateUpdateFn = validation.ValidateEventUpdate
	s.CreateOnUpdate = true
	return store.New(store.Resource{
		Resource:   schema.GroupResource{Resource: "events"},
		Singular:   "event",
		New:        func() runtime.Object { return &corev1.Event{} },
		NewList:    func() runtime.Object { return &corev1.EventList{} },
		Fields:     SelectableFields,
		Table:      printers.Events(),
		TTLSeconds: ttlSeconds,
		Create:     s, Update: s, Delete: s,
	}, opts)
}

// SelectableFields are the fields kubectl describe and kubectl events select
// events by (involvedObject.*), plus the others kube-apiserver offers.
func SelectableFields(obj runtime.Object) fields.Set {
	e := obj.(*corev1.Event)
	source := e.Source.Component
	if source == "" {
		source = e.ReportingController
	}
	return fields.Set{
		"involvedObject.kind":            e.InvolvedObject.Kind,
		"involvedObject.namespace":       e.InvolvedObject.Namespace,
		"involvedObject.name":            e.InvolvedObject.Name,
		"involvedObject.uid":             string(e.InvolvedObject.UID),
		"involvedObject.apiVersion":      e.InvolvedObject.APIVersion,
		"involvedObject.resourceVersion": e.InvolvedObject.ResourceVersion,
		"involvedObject.fieldPath":       e.InvolvedObject.FieldPath,
		"reason":                         e.Reason,
		"reportingComponent":             e.ReportingController,
		"source":                         source,
		"type":                           e.Type,
	}
}
