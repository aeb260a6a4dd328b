package printers

import (
	"context"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/podyard/podyard/internal/apis/bcs/v1alpha1"
)

func TestApplications(t *testing.T) {
	app := &v1alpha1.Application{
		ObjectMeta: metav1.ObjectMeta{Name: "app-test", CreationTimestamp: metav1.NewTime(time.Now().Add(-3 * time.Minute))},
		Spec:       v1alpha1.ApplicationSpec{Instance: 2, Metadata: v1alpha1.ObjectMeta{Name: "app-test", Namespace: "defaultGroup"}},
		Status:     v1alpha1.ApplicationStatus{Status: "Deploying", RunningInstances: 1, Message: "some pods in staing or starting"},
	}
	table, err := Applications().ConvertToTable(context.Background(), &v1alpha1.ApplicationList{Items: []v1alpha1.Application{*app, {}}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, c := range table.ColumnDefinitions {
		names = append(names, c.Name)
	}
	if len(names) != 7 || names[0] != "Name" || names[1] != "Instances" || names[2] != "Running" || names[3] != "Status" || names[4] != "Age" {
		t.Errorf("columns %v", names)
	}
	row := table.Rows[0].Cells
	if row[0] != "app-test" || row[1] != int64(2) || row[2] != int64(1) || row[3] != "Deploying" || row[4] != "3m" || row[5] != "defaultGroup/app-test" || row[6] != app.Status.Message {
		t.Errorf("row %v", row)
	}
	if empty := table.Rows[1].Cells; empty[3] != "<none>" || empty[6] != "<none>" {
		t.Errorf("empty row %v", empty)
	}
}
