package printers

import (
	"fmt"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apiserver/pkg/registry/rest"

	"github.com/podyard/podyard/internal/apis/bcs/v1alpha1"
)

// AdmissionWebhooks shows NAME OPERATION KIND HOOKS AGE, and the BCS name
// with -o wide.
func AdmissionWebhooks() rest.TableConvertor {
	return newTable([]metav1.TableColumnDefinition{
		nameColumn(),
		column("Operation", "The operation the hooks see: Create (POST) or Update (PUT)"),
		column("Kind", "The kind of BCS object the hooks see: application or deployment"),
		{Name: "Hooks", Type: "integer", Description: "Webhooks, called in order"},
		ageColumn(),
		wideColumn("BCS Name", "The configuration's namespace and name in the BCS API"),
	}, func(w *v1alpha1.AdmissionWebhook, now time.Time) []any {
		return []any{w.Name, orNone(w.Spec.ResourcesRef.Operation), orNone(w.Spec.ResourcesRef.Kind), int64(len(w.Spec.AdmissionWebhooks)),
			age(w.CreationTimestamp, now), fmt.Sprintf("%s/%s", w.Spec.Metadata.Namespace, w.Spec.Metadata.Name)}
	})
}
