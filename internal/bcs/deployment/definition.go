// Package deployment holds the pure logic of BCS deployments, shared by the
// BCS dialect and the deployment controller (still to be written): the
// posted definition with BCS's defaults and checks (Parse, ParseUpdate), the
// rolling update of the two applications as a planner (Next) that is handed
// what the controller observed and answers what to do next, and the status
// transitions of pauseupdate, resumeupdate, cancelupdate and scale. Nothing
// here does I/O or reads a clock: the caller passes now.
//
// The controller is to keep the deployment's status and Progress on the
// Deployment object (so that an update survives a restart), count the
// taskgroups of both applications (existing; Running and healthy), call
// Next on every change and at the Wait deadline, and apply the answer:
// set the two applications' spec.instance (SetTargets), record the status
// (Pause → UpdatePaused, Suspend → UpdateSuspend with the reason), or on
// Done delete the old application, make the new one the deployment's and
// go back to Running.
//
// Where Podyard does better than BCS (see Next, Parse, CancelUpdate): the
// two applications never hold more than spec.instance+maxSurge
// taskgroups nor fewer than spec.instance-maxUnavilable available ones
// (BCS's step arithmetic broke both); upgradeDuration 0 means no pause
// between steps (BCS could not tell it from absent); cancelupdate is
// never refused for a step under way.
package deployment

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/podyard/podyard/internal/apis/bcs/v1alpha1"
	"github.com/podyard/podyard/internal/bcs/application"
)

// ErrJSON is a body that is not the JSON of a BCS deployment (BCS answers
// 1405010 "json decode failed!"). It is application.ErrJSON, so one mapping
// serves both kinds.
var ErrJSON = application.ErrJSON

// InvalidError is a deployment definition BCS refuses (1405231 "there is
// some error in the parameters..." for what its driver checks; the rolling
// order of an update is checked by its scheduler, 1405200).
type InvalidError struct{ Reason string }

func (e *InvalidError) Error() string { return "invalid deployment definition: " + e.Reason }

// BCS's defaults and values.
const (
	DefaultKind = "deployment"
	// DefaultUpgradeDuration is the seconds between steps when
	// upgradeDuration is absent.
	DefaultUpgradeDuration = 10

	StrategyRollingUpdate = "RollingUpdate"
	StrategyRecreate      = "Recreate"
	StrategyForceUpdate   = "ForceUpdate"

	CreateFirst = "CreateFirst"
	DeleteFirst = "DeleteFirst"
)

// Definition is the BCS deployment JSON (bcs-common's BcsDeployment): what
// clients post and what GET definition/deployment returns.
type Definition struct {
	APIVersion    string                 `json:"apiVersion"`
	Kind          string                 `json:"kind"`
	Metadata      v1alpha1.ObjectMeta    `json:"metadata"`
	Spec          Spec                   `json:"spec"`
	UpdatePolicy  v1alpha1.UpdatePolicy  `json:"updatePolicy"`
	RestartPolicy v1alpha1.RestartPolicy `json:"restartPolicy"`
	KillPolicy    v1alpha1.KillPolicy    `json:"killPolicy"`
	Constraint    *v1alpha1.Constraint   `json:"constraint,omitempty"`
}

// Spec is the deployment's "spec".
type Spec struct {
	// Instance is how many taskgroups the deployment's application runs.
	Instance int32 `json:"instance"`
	// Selector picks the existing application a create adopts.
	Selector map[string]string `json:"selector,omitempty"`
	// Template is the application's taskgroup template; without one a
	// create adopts the application the selector matches.
	Template *v1alpha1.PodTemplateSpec `json:"template,omitempty"`
	Strategy Strategy                  `json:"strategy"`
	// PauseDeployment is recorded; BCS does not act on it.
	PauseDeployment bool `json:"pauseDeployment,omitempty"`
}

// Strategy is how an update replaces the application: type RollingUpdate,
// Recreate or ForceUpdate (BCS rolls whatever it says) and the rolling
// update's pace.
type Strategy = v1alpha1.UpgradeStrategy

// RollingUpdate is the rolling update's pace. The wire name of
// MaxUnavailable is BCS's "maxUnavilable" (sic): how many taskgroups a step
// may take away (and how far below spec.instance the Running ones may
// fall); MaxSurge how many a step may add (and how far above spec.instance
// the two applications together may go).
type RollingUpdate = v1alpha1.RollingUpdate

// probe tells an absent upgradeDuration from 0 (BCS's uint32 could not:
// there 0 became the default; here 0 steps as soon as the last step ended).
type probe struct {
	Spec struct {
		Strategy struct {
			RollingUpdate *struct {
				UpgradeDuration *json.RawMessage `json:"upgradeDuration"`
			} `json:"rollingupdate"`
		} `json:"strategy"`
	} `json:"spec"`
}

// Parse reads a posted deployment definition (POST, and the first part of
// PUT: see ParseUpdate) with BCS's defaults: kind and namespace, the
// template's as for an application (restart policy, resources, health
// checks; its checks too), maxSurge and maxUnavilable of 0 or less set to
// 1, upgradeDuration 10 when absent. As in BCS (Go's encoding/json), keys
// match case-insensitively and unknown keys ("autoUpgrade" and "pause" of
// the documented example) are ignored. A deployment may have no template:
// then a create adopts the application its selector matches.
func Parse(body []byte) (Definition, error) {
	var d Definition
	if err := json.NewDecoder(bytes.NewReader(body)).Decode(&d); err != nil {
		return Definition{}, fmt.Errorf("%w: %v", ErrJSON, err)
	}
	var p probe
	_ = json.Unmarshal(body, &p) // it decoded above
	if d.Kind == "" {
		d.Kind = DefaultKind
	}
	if d.Metadata.Namespace == "" {
		d.Metadata.Namespace = application.DefaultNamespace
	}
	if strings.Contains(d.Metadata.Name, ".") {
		return Definition{}, &InvalidError{"Name can't contains contains '.'"}
	}
	if d.Spec.Instance < 0 {
		return Definition{}, &InvalidError{"instance must not be negative"}
	}
	if d.Spec.Template != nil {
		// The application's own parse checks and defaults the template
		// and the policies, as BCS's driver does for the application a
		// deployment makes.
		spec, err := application.Parse(body)
		var invalid *application.InvalidError
		switch {
		case errors.As(err, &invalid):
			return Definition{}, &InvalidError{invalid.Reason}
		case err != nil:
			return Definition{}, err
		}
		d.Spec.Template = &spec.Template
		d.RestartPolicy = spec.RestartPolicy
	} else if d.RestartPolicy.Policy == "" {
		d.RestartPolicy.Policy = application.DefaultRestartPolicy
	}
	if ru := d.Spec.Strategy.RollingUpdate; ru != nil {
		if ru.MaxUnavailable <= 0 {
			ru.MaxUnavailable = 1
		}
		if ru.MaxSurge <= 0 {
			ru.MaxSurge = 1
		}
		if pr := p.Spec.Strategy.RollingUpdate; pr == nil || pr.UpgradeDuration == nil || string(*pr.UpgradeDuration) == "null" {
			ru.UpgradeDuration = DefaultUpgradeDuration
		}
		if ru.UpgradeDuration < 0 {
			return Definition{}, &InvalidError{"upgradeDuration must not be negative"}
		}
	}
	return d, nil
}

// ParseUpdate reads the definition of a PUT (a rolling update): as Parse,
// and it must have a template and strategy.rollingupdate with rollingOrder
// CreateFirst or DeleteFirst (BCS: "update strategy rolling order error").
func ParseUpdate(body []byte) (Definition, error) {
	d, err := Parse(body)
	if err != nil {
		return Definition{}, err
	}
	if ru := d.Spec.Strategy.RollingUpdate; ru == nil || (ru.RollingOrder != CreateFirst && ru.RollingOrder != DeleteFirst) {
		return Definition{}, &InvalidError{"update strategy rolling order error"}
	}
	if d.Spec.Template == nil {
		return Definition{}, &InvalidError{"no template"}
	}
	return d, nil
}

// Application is the spec of the application the deployment makes, named
// name (the deployment's, or NewApplicationName's for an update), with
// instance taskgroups (0 for the new application of a rolling update).
// The definition must have a template.
func (d Definition) Application(name string, instance int32) v1alpha1.ApplicationSpec {
	meta := d.Metadata
	meta.Name = name
	spec := v1alpha1.ApplicationSpec{
		APIVersion: d.APIVersion, Kind: application.DefaultKind, Metadata: meta,
		Instance: instance, Selector: d.Spec.Selector,
		UpdatePolicy: d.UpdatePolicy, RestartPolicy: d.RestartPolicy, KillPolicy: d.KillPolicy,
		Constraint: d.Constraint,
	}
	if d.Spec.Template != nil {
		spec.Template = *d.Spec.Template
	}
	return spec
}

// NewApplicationName is the name of the new application of an update that
// starts at unixSeconds: "{deployment}-v{unixSeconds}", always from the
// deployment's name, so suffixes never pile up.
func NewApplicationName(deployment string, unixSeconds int64) string {
	return fmt.Sprintf("%s-v%d", deployment, unixSeconds)
}

// ToSpec is the Deployment object's spec for d (its "spec" lifted).
func (d Definition) ToSpec() v1alpha1.DeploymentSpec {
	return v1alpha1.DeploymentSpec{
		APIVersion: d.APIVersion, Kind: d.Kind, Metadata: d.Metadata,
		Instance: d.Spec.Instance, Selector: d.Spec.Selector, Template: d.Spec.Template,
		Strategy: d.Spec.Strategy, PauseDeployment: d.Spec.PauseDeployment,
		UpdatePolicy: d.UpdatePolicy, RestartPolicy: d.RestartPolicy, KillPolicy: d.KillPolicy, Constraint: d.Constraint,
	}
}

// FromSpec is the BCS definition of a Deployment's spec (GET definition).
func FromSpec(s v1alpha1.DeploymentSpec) Definition {
	return Definition{
		APIVersion: s.APIVersion, Kind: s.Kind, Metadata: s.Metadata,
		Spec:         Spec{Instance: s.Instance, Selector: s.Selector, Template: s.Template, Strategy: s.Strategy, PauseDeployment: s.PauseDeployment},
		UpdatePolicy: s.UpdatePolicy, RestartPolicy: s.RestartPolicy, KillPolicy: s.KillPolicy, Constraint: s.Constraint,
	}
}
