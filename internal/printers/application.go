package printers

import (
	"fmt"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apiserver/pkg/registry/rest"

	"github.com/podyard/podyard/internal/apis/bcs/v1alpha1"
)

// Applications shows NAME INSTANCES RUNNING STATUS AGE, and the BCS
// namespace and name and the status message with -o wide.
func Applications() rest.TableConvertor {
	return newTable([]metav1.TableColumnDefinition{
		nameColumn(),
		{Name: "Instances", Type: "integer", Description: "Taskgroups asked for (spec.instance)"},
		{Name: "Running", Type: "integer", Description: "Running and Restarting taskgroups"},
		column("Status", "Staging, Deploying, Running, Finish, Error, Operating, RollingUpdate, Unknown or Abnormal"),
		ageColumn(),
		wideColumn("BCS Name", "The application's namespace and name in the BCS API"),
		wideColumn("Message", "Why the application has its status"),
	}, func(app *v1alpha1.Application, now time.Time) []any {
		return []any{app.Name, int64(app.Spec.Instance), int64(app.Status.RunningInstances), orNone(app.Status.Status),
			age(app.CreationTimestamp, now), fmt.Sprintf("%s/%s", app.Spec.Metadata.Namespace, app.Spec.Metadata.Name),
			orNone(app.Status.Message)}
	})
}

// ApplicationVersions shows NAME APPLICATION VERSION INSTANCES AGE.
func ApplicationVersions() rest.TableConvertor {
	return newTable([]metav1.TableColumnDefinition{
		nameColumn(),
		column("Application", "The application the version records"),
		column("Version", "The BCS version ID"),
		{Name: "Instances", Type: "integer", Description: "Taskgroups the definition asks for"},
		ageColumn(),
	}, func(v *v1alpha1.ApplicationVersion, now time.Time) []any {
		return []any{v.Name, v.Application, v.ID, int64(v.Spec.Instance), age(v.CreationTimestamp, now)}
	})
}

// AgentSettings shows NAME NODE DISABLED ATTRIBUTES NOSCHEDULE AGE.
func AgentSettings() rest.TableConvertor {
	return newTable([]metav1.TableColumnDefinition{
		nameColumn(),
		column("Node", "The node whose InternalIP is the setting's IP"),
		{Name: "Disabled", Type: "boolean", Description: "The node takes no new taskgroups"},
		{Name: "Attributes", Type: "integer", Description: "Text and scalar attributes"},
		{Name: "NoSchedule", Type: "integer", Description: "NoSchedule taints"},
		ageColumn(),
	}, func(s *v1alpha1.AgentSetting, now time.Time) []any {
		return []any{s.Name, orNone(s.Status.NodeName), s.Spec.Disabled, int64(len(s.Spec.Strings) + len(s.Spec.Scalars)),
			int64(len(s.Spec.NoSchedule)), age(s.CreationTimestamp, now)}
	})
}

// Deployments shows NAME INSTANCES APPLICATION STATUS AGE, and the new
// application of an update, the BCS name and the message with -o wide.
func Deployments() rest.TableConvertor {
	return newTable([]metav1.TableColumnDefinition{
		nameColumn(),
		{Name: "Instances", Type: "integer", Description: "Taskgroups asked for (spec.instance)"},
		column("Application", "The deployment's application (the old one during an update)"),
		column("Status", "Deploying, Running, Update, UpdatePaused, UpdateSuspend, Deleting or UpdateResource"),
		ageColumn(),
		wideColumn("New Application", "The new application of an update under way"),
		wideColumn("BCS Name", "The deployment's namespace and name in the BCS API"),
		wideColumn("Message", "Why the deployment has its status"),
	}, func(d *v1alpha1.Deployment, now time.Time) []any {
		app, ext := "<none>", "<none>"
		if d.Status.Application != nil {
			app = d.Status.Application.Name
		}
		if d.Status.ApplicationExt != nil {
			ext = d.Status.ApplicationExt.Name
		}
		return []any{d.Name, int64(d.Spec.Instance), app, orNone(d.Status.Status), age(d.CreationTimestamp, now),
			ext, fmt.Sprintf("%s/%s", d.Spec.Metadata.Namespace, d.Spec.Metadata.Name), orNone(d.Status.Message)}
	})
}

// Commands shows NAME ID TARGET TASKS AGE.
func Commands() rest.TableConvertor {
	return newTable([]metav1.TableColumnDefinition{
		nameColumn(),
		column("ID", "The BCS command ID"),
		column("Target", "The application or deployment the command runs in"),
		{Name: "Tasks", Type: "integer", Description: "Target tasks"},
		ageColumn(),
	}, func(c *v1alpha1.Command, now time.Time) []any {
		tasks := 0
		for _, tg := range c.Status.Taskgroups {
			tasks += len(tg.Tasks)
		}
		ref := c.Spec.CommandTargetRef
		return []any{c.Name, c.ID, fmt.Sprintf("%s %s/%s", ref.Kind, ref.Namespace, ref.Name), int64(tasks), age(c.CreationTimestamp, now)}
	})
}
