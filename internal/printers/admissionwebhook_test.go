package printers

import (
	"context"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/podyard/podyard/internal/apis/bcs/v1alpha1"
)

func TestAdmissionWebhooks(t *testing.T) {
	w := v1alpha1.AdmissionWebhook{
		ObjectMeta: metav1.ObjectMeta{Name: "webhook-test", CreationTimestamp: metav1.NewTime(time.Now().Add(-2 * time.Minute))},
		Spec: v1alpha1.AdmissionWebhookSpec{Metadata: v1alpha1.ObjectMeta{Name: "webhook-test", Namespace: "defaultGroup"},
			ResourcesRef:      v1alpha1.AdmissionResourcesRef{Operation: "Create", Kind: "Application"},
			AdmissionWebhooks: []v1alpha1.AdmissionHook{{Name: "a"}, {Name: "b"}}},
	}
	table, err := AdmissionWebhooks().ConvertToTable(context.Background(), &v1alpha1.AdmissionWebhookList{Items: []v1alpha1.AdmissionWebhook{w, {}}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, c := range table.ColumnDefinitions {
		names = append(names, c.Name)
	}
	if len(names) != 6 || names[0] != "Name" || names[1] != "Operation" || names[2] != "Kind" || names[3] != "Hooks" || names[4] != "Age" || names[5] != "BCS Name" {
		t.Errorf("columns %v", names)
	}
	row := table.Rows[0].Cells
	if row[0] != "webhook-test" || row[1] != "Create" || row[2] != "Application" || row[3] != int64(2) || row[4] != "2m" || row[5] != "defaultGroup/webhook-test" {
		t.Errorf("row %v", row)
	}
	if empty := table.Rows[1].Cells; empty[1] != "<none>" || empty[3] != int64(0) {
		t.Errorf("empty row %v", empty)
	}
}
