package bcs

import (
	"errors"

	"github.com/podyard/podyard/internal/bcs/names"
)

// Annotations keep what BCS has and Kubernetes does not.
const (
	// AnnotationNamespace on a Namespace is the BCS namespace it stands for,
	// when that is not the Namespace's own name.
	AnnotationNamespace = "bcs.podyard.io/namespace"
	// AnnotationName on an object is its BCS name.
	AnnotationName = "bcs.podyard.io/name"
	// annotationPrefix marks the dialect's own annotations, which the BCS
	// view never shows.
	annotationPrefix = "bcs.podyard.io/"
)

// KubeNamespace is the Kubernetes namespace of a BCS namespace; see KubeName.
func KubeNamespace(bcs string) (string, *Error) { return kubeName("namespace", bcs) }

// KubeName is the Kubernetes name of a BCS object name (names.Kube); the
// original is kept in an annotation.
func KubeName(bcs string) (string, *Error) { return kubeName("name", bcs) }

func kubeName(what, bcs string) (string, *Error) {
	name, err := names.Kube(bcs)
	switch {
	case errors.Is(err, names.ErrEmpty):
		return "", Errorf(CodeBadParameters, "the %s is empty", what)
	case err != nil:
		return "", Errorf(CodeBadParameters, "%s %q: a BCS %s can't contain '.'", what, bcs, what)
	}
	return name, nil
}

// NamespaceAnnotations are what a Namespace made for a BCS namespace
// carries: the original, when the name is not it.
func NamespaceAnnotations(bcs, kube string) map[string]string {
	if bcs == kube {
		return nil
	}
	return map[string]string{AnnotationNamespace: bcs}
}
