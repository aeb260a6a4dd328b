// Package application holds the pure translations between a BCS application
// and Podyard's objects, shared by the BCS dialect and the application
// controller: the posted definition → Application spec (with BCS's
// defaults) and back, an Application → the core/v1 Pod of one taskgroup
// with its BCS IDs, and the BCS statuses of tasks, taskgroups and the
// application from the Pods. Nothing here does I/O.
package application

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/podyard/podyard/internal/apis/bcs/v1alpha1"
)

// ErrJSON is a body that is not the JSON of a BCS application (BCS answers
// 1405010 "json decode failed!").
var ErrJSON = errors.New("json decode failed")

// InvalidError is a definition BCS's driver refuses before the scheduler
// sees it (1405231 "there is some error in the parameters...").
type InvalidError struct{ Reason string }

func (e *InvalidError) Error() string { return "invalid application definition: " + e.Reason }

// BCS's defaults, applied by its driver to what was posted.
const (
	DefaultNamespace     = "defaultGroup"
	DefaultKind          = "application"
	DefaultRestartPolicy = "OnFailure"
	DefaultCPU           = "1"  // cores
	DefaultMemory        = "64" // MB
	DefaultStorage       = "64" // MB

	DefaultCheckDelaySeconds    = 10
	DefaultCheckIntervalSeconds = 60
	DefaultCheckTimeoutSeconds  = 20
	DefaultCheckGraceSeconds    = 300
)

// Definition is the BCS application JSON (bcs-common's ReplicaController):
// what clients post and what GET definition/application returns.
type Definition struct {
	APIVersion    string                 `json:"apiVersion"`
	Kind          string                 `json:"kind"`
	Metadata      v1alpha1.ObjectMeta    `json:"metadata"`
	Spec          DefinitionSpec         `json:"spec"`
	UpdatePolicy  v1alpha1.UpdatePolicy  `json:"updatePolicy"`
	RestartPolicy v1alpha1.RestartPolicy `json:"restartPolicy"`
	KillPolicy    v1alpha1.KillPolicy    `json:"killPolicy"`
	Constraint    *v1alpha1.Constraint   `json:"constraint,omitempty"`
}

// DefinitionSpec is the definition's "spec".
type DefinitionSpec struct {
	Instance int32                     `json:"instance"`
	Selector map[string]string         `json:"selector,omitempty"`
	Template *v1alpha1.PodTemplateSpec `json:"template"`
}

// posted is what is read of a body: the definition, and whether it names
// processes (the process kind, which Podyard does not run).
type posted struct {
	Definition
	Spec struct {
		DefinitionSpec
		Template *struct {
			v1alpha1.PodTemplateSpec
			Spec struct {
				v1alpha1.PodSpec
				Processes []json.RawMessage `json:"processes"`
			} `json:"spec"`
		} `json:"template"`
	} `json:"spec"`
}

// Parse reads a posted application definition into an Application spec with
// BCS's defaults. As in BCS (Go's encoding/json), keys match their field
// case-insensitively ("IntersectionItem", "MaxRetries" in the documented
// example) and unknown keys ("appname") are ignored.
func Parse(body []byte) (v1alpha1.ApplicationSpec, error) {
	var p posted
	if err := json.NewDecoder(bytes.NewReader(body)).Decode(&p); err != nil {
		return v1alpha1.ApplicationSpec{}, fmt.Errorf("%w: %v", ErrJSON, err)
	}
	d := p.Definition
	d.Spec = p.Spec.DefinitionSpec
	if t := p.Spec.Template; t != nil {
		if len(t.Spec.Processes) > 0 {
			return v1alpha1.ApplicationSpec{}, &InvalidError{"processes are not supported: Podyard runs containers"}
		}
		tmpl := t.PodTemplateSpec
		tmpl.Spec = t.Spec.PodSpec
		d.Spec.Template = &tmpl
	}
	if strings.Contains(d.Metadata.Name, ".") {
		return v1alpha1.ApplicationSpec{}, &InvalidError{"Name can't contains contains '.'"}
	}
	if d.Spec.Template == nil {
		return v1alpha1.ApplicationSpec{}, &InvalidError{"no template"}
	}
	if len(d.Spec.Template.Spec.Containers) == 0 {
		return v1alpha1.ApplicationSpec{}, &InvalidError{"no containers and processes"}
	}
	spec := FromDefinition(d)
	Default(&spec)
	switch spec.RestartPolicy.Policy {
	case "Never", "Always", "OnFailure":
	default:
		return v1alpha1.ApplicationSpec{}, &InvalidError{"restart policy error"}
	}
	return spec, nil
}

// FromDefinition lifts the definition's spec into the Application spec.
func FromDefinition(d Definition) v1alpha1.ApplicationSpec {
	spec := v1alpha1.ApplicationSpec{
		APIVersion: d.APIVersion, Kind: d.Kind, Metadata: d.Metadata,
		Instance: d.Spec.Instance, Selector: d.Spec.Selector,
		UpdatePolicy: d.UpdatePolicy, RestartPolicy: d.RestartPolicy, KillPolicy: d.KillPolicy,
		Constraint: d.Constraint,
	}
	if d.Spec.Template != nil {
		spec.Template = *d.Spec.Template
	}
	return spec
}

// ToDefinition is the BCS definition of an Application spec.
func ToDefinition(spec v1alpha1.ApplicationSpec) Definition {
	tmpl := spec.Template
	return Definition{
		APIVersion: spec.APIVersion, Kind: spec.Kind, Metadata: spec.Metadata,
		Spec:         DefinitionSpec{Instance: spec.Instance, Selector: spec.Selector, Template: &tmpl},
		UpdatePolicy: spec.UpdatePolicy, RestartPolicy: spec.RestartPolicy, KillPolicy: spec.KillPolicy,
		Constraint: spec.Constraint,
	}
}

// Default applies what BCS's driver fills in: kind, namespace, restart
// policy, requests taken from limits, resource and health-check defaults.
func Default(spec *v1alpha1.ApplicationSpec) {
	if spec.Kind == "" {
		spec.Kind = DefaultKind
	}
	if spec.Metadata.Namespace == "" {
		spec.Metadata.Namespace = DefaultNamespace
	}
	if spec.RestartPolicy.Policy == "" {
		spec.RestartPolicy.Policy = DefaultRestartPolicy
	}
	for i := range spec.Template.Spec.Containers {
		c := &spec.Template.Spec.Containers[i]
		r := &c.Resources
		if r.Requests.CPU == "" && r.Limits.CPU != "" {
			r.Requests = r.Limits
		}
		r.Requests.CPU = orDefault(r.Requests.CPU, DefaultCPU)
		r.Requests.Memory = orDefault(r.Requests.Memory, DefaultMemory)
		r.Requests.Storage = orDefault(r.Requests.Storage, DefaultStorage)
		for j := range c.HealthChecks {
			hc := &c.HealthChecks[j]
			hc.DelaySeconds = positiveOr(hc.DelaySeconds, DefaultCheckDelaySeconds)
			hc.IntervalSeconds = positiveOr(hc.IntervalSeconds, DefaultCheckIntervalSeconds)
			hc.TimeoutSeconds = positiveOr(hc.TimeoutSeconds, DefaultCheckTimeoutSeconds)
			hc.GracePeriodSeconds = positiveOr(hc.GracePeriodSeconds, DefaultCheckGraceSeconds)
		}
	}
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

func positiveOr(v, def int32) int32 {
	if v <= 0 {
		return def
	}
	return v
}
