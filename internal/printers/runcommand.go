package printers

import (
	"fmt"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apiserver/pkg/registry/rest"

	"github.com/podyard/podyard/internal/apis/podyard/v1alpha1"
)

// RunCommands shows NAME STATE EXIT REASON AGE, and USER and COMMAND with -o wide.
func RunCommands() rest.TableConvertor {
	return newTable([]metav1.TableColumnDefinition{
		nameColumn(),
		column("State", "Pending, Running, Succeeded or Failed"),
		column("Exit", "The command's exit code"),
		column("Reason", "Why the command failed"),
		ageColumn(),
		wideColumn("User", "Who the command acts as"),
		wideColumn("Command", "The command run by sh -c"),
	}, func(rc *v1alpha1.RunCommand, now time.Time) []any {
		exit := "<none>"
		if rc.Status.ExitCode != nil {
			exit = fmt.Sprint(*rc.Status.ExitCode)
		}
		return []any{rc.Name, orNone(string(rc.Status.State)), exit, orNone(rc.Status.Reason),
			age(rc.CreationTimestamp, now), rc.Spec.User.Username, rc.Spec.Command}
	})
}
