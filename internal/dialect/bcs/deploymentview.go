package bcs

import (
	"github.com/podyard/podyard/internal/apis/bcs/v1alpha1"
	"github.com/podyard/podyard/internal/bcs/deployment"
)

// DeploymentView is BCS's Deployment (bcs-scheduler's types.Deployment),
// which the original served only inside its scheduler: snake_case keys,
// and the application's rolling count under the Go field name its
// misspelt tag left ("CurrentRollingInstances").
type DeploymentView struct {
	ObjectMeta      v1alpha1.ObjectMeta        `json:"metadata"`
	Selector        map[string]string          `json:"selector,omitempty"`
	Strategy        v1alpha1.UpgradeStrategy   `json:"strategy"`
	Status          string                     `json:"status"`
	Application     *DeploymentApplicationView `json:"application"`
	ApplicationExt  *DeploymentApplicationView `json:"application_ext"`
	LastRollingTime int64                      `json:"last_rolling_time"`
	CurrRollingOp   string                     `json:"curr_rolling_operation"`
	IsInRolling     bool                       `json:"is_in_rolling"`
	CheckTime       int64                      `json:"check_time"`
	Message         string                     `json:"message"`
	RawJSON         *deployment.Definition     `json:"raw_json,omitempty"`
	RawJSONBackup   *deployment.Definition     `json:"raw_json_backup,omitempty"`
}

// DeploymentApplicationView is BCS's DeploymentReferApplication.
type DeploymentApplicationView struct {
	Name                    string `json:"name"`
	CurrentTargetInstances  int    `json:"curr_target_instances"`
	CurrentRollingInstances int    `json:"CurrentRollingInstances"`
}

// ToDeploymentView is the BCS view of a Deployment. is_in_rolling is set
// while a step is under way; last_rolling_time is when the last step
// began and check_time when the step under way began or was resumed
// (Unix seconds).
func ToDeploymentView(d *v1alpha1.Deployment) *DeploymentView {
	st := d.Status
	v := &DeploymentView{
		ObjectMeta: d.Spec.Metadata, Selector: d.Spec.Selector, Strategy: d.Spec.Strategy,
		Status: st.Status, Message: st.Message,
		Application: applicationView(st.Application), ApplicationExt: applicationView(st.ApplicationExt),
		CurrRollingOp: st.Progress.Phase, IsInRolling: st.Progress.Phase != deployment.PhaseNone,
	}
	if v.Status == "" {
		v.Status = deployment.StatusDeploying
	}
	if d.DeletionTimestamp != nil {
		v.Status = deployment.StatusDeleting
	}
	if t := st.Progress.LastStep; t != nil {
		v.LastRollingTime = t.Unix()
	}
	if t := st.Progress.StepStarted; t != nil {
		v.CheckTime = t.Unix()
	}
	if st.Definition != nil {
		def := deployment.FromSpec(*st.Definition)
		v.RawJSON = &def
	} else {
		def := deployment.FromSpec(d.Spec)
		v.RawJSON = &def
	}
	if st.DefinitionBackup != nil {
		def := deployment.FromSpec(*st.DefinitionBackup)
		v.RawJSONBackup = &def
	}
	return v
}

func applicationView(a *v1alpha1.DeploymentApplication) *DeploymentApplicationView {
	if a == nil {
		return nil
	}
	return &DeploymentApplicationView{Name: a.Name, CurrentTargetInstances: int(a.CurrentTargetInstances), CurrentRollingInstances: int(a.CurrentRollingInstances)}
}
