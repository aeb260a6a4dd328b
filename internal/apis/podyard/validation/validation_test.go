package validation

import (
	"archive/zip"
	"bytes"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/podyard/podyard/internal/apis/podyard/v1alpha1"
	"github.com/podyard/podyard/internal/runcommand/archive"
)

func zipOf(t *testing.T, name string) []byte {
	var buf bytes.Buffer
	w := zip.NewWriter(&buf)
	f, _ := w.Create(name)
	f.Write([]byte("x"))
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestValidateRunCommand(t *testing.T) {
	valid := func() *v1alpha1.RunCommand {
		return &v1alpha1.RunCommand{
			ObjectMeta: metav1.ObjectMeta{Name: "0e9872e6629349dc865e27ee6f8bab2d", Namespace: "podyard-command"},
			Spec:       v1alpha1.RunCommandSpec{Command: "kubectl get pods"},
		}
	}
	tests := []struct {
		name   string
		change func(*v1alpha1.RunCommand)
		want   string // "" for valid
	}{
		{"valid", func(*v1alpha1.RunCommand) {}, ""},
		{"with context", func(rc *v1alpha1.RunCommand) { rc.Spec.Context = zipOf(t, "ns.yaml") }, ""},
		{"no command", func(rc *v1alpha1.RunCommand) { rc.Spec.Command = "" }, "spec.command: Required"},
		{"context not a zip", func(rc *v1alpha1.RunCommand) { rc.Spec.Context = []byte("nope") }, "not a ZIP archive"},
		{"context escapes", func(rc *v1alpha1.RunCommand) { rc.Spec.Context = zipOf(t, "../x") }, "leaves the working directory"},
		{"timeout zero", func(rc *v1alpha1.RunCommand) { rc.Spec.TimeoutSeconds = new(int64(0)) }, "spec.timeoutSeconds"},
		{"timeout too long", func(rc *v1alpha1.RunCommand) { rc.Spec.TimeoutSeconds = new(int64(86401)) }, "spec.timeoutSeconds"},
		{"bad name", func(rc *v1alpha1.RunCommand) { rc.Name = "Not_A_Label" }, "metadata.name"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rc := valid()
			tt.change(rc)
			errs := ValidateRunCommand(rc, archive.DefaultLimits())
			if tt.want == "" && len(errs) > 0 || tt.want != "" && !strings.Contains(errs.ToAggregate().Error(), tt.want) {
				t.Errorf("want %q, got %v", tt.want, errs)
			}
		})
	}
}

func TestValidateRunCommandUpdate(t *testing.T) {
	old := &v1alpha1.RunCommand{
		ObjectMeta: metav1.ObjectMeta{Name: "a", Namespace: "n", ResourceVersion: "1"},
		Spec:       v1alpha1.RunCommandSpec{Command: "true"},
	}
	tests := []struct {
		name   string
		change func(*v1alpha1.RunCommand)
		want   string
	}{
		{"cancel", func(rc *v1alpha1.RunCommand) { rc.Spec.Canceled = true }, ""},
		{"change command", func(rc *v1alpha1.RunCommand) { rc.Spec.Command = "false" }, "only spec.canceled may change"},
		{"change user", func(rc *v1alpha1.RunCommand) { rc.Spec.User.Username = "root" }, "only spec.canceled may change"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rc := old.DeepCopy()
			tt.change(rc)
			errs := ValidateRunCommandUpdate(rc, old)
			if tt.want == "" && len(errs) > 0 || tt.want != "" && !strings.Contains(errs.ToAggregate().Error(), tt.want) {
				t.Errorf("want %q, got %v", tt.want, errs)
			}
		})
	}
	canceled := old.DeepCopy()
	canceled.Spec.Canceled = true
	if errs := ValidateRunCommandUpdate(old.DeepCopy(), canceled); len(errs) == 0 {
		t.Error("un-cancelling was allowed")
	}
}
