// Package clients makes typed clients of the bcs.podyard.io kinds that
// controllers and the BCS dialect share (Applications have theirs in
// internal/controller/application).
package clients

import (
	"k8s.io/client-go/gentype"
	"k8s.io/client-go/rest"

	"github.com/podyard/podyard/internal/apis/bcs/v1alpha1"
	"github.com/podyard/podyard/internal/typedclient"
)

// ApplicationVersions reads and writes the ApplicationVersions of one
// namespace ("" for all).
type ApplicationVersions = gentype.ClientWithList[*v1alpha1.ApplicationVersion, *v1alpha1.ApplicationVersionList]

// AgentSettings reads and writes AgentSettings (cluster-scoped).
type AgentSettings = gentype.ClientWithList[*v1alpha1.AgentSetting, *v1alpha1.AgentSettingList]

// NewApplicationVersions returns ApplicationVersion clients for cfg.
func NewApplicationVersions(cfg *rest.Config) (*typedclient.Clients[*v1alpha1.ApplicationVersion, *v1alpha1.ApplicationVersionList], error) {
	return typedclient.New(cfg, typedclient.Kind[*v1alpha1.ApplicationVersion, *v1alpha1.ApplicationVersionList]{
		GroupVersion: v1alpha1.SchemeGroupVersion, AddToScheme: v1alpha1.AddToScheme, Resource: "applicationversions",
		New:     func() *v1alpha1.ApplicationVersion { return &v1alpha1.ApplicationVersion{} },
		NewList: func() *v1alpha1.ApplicationVersionList { return &v1alpha1.ApplicationVersionList{} },
	})
}

// NewAgentSettings returns the AgentSetting client for cfg.
func NewAgentSettings(cfg *rest.Config) (*AgentSettings, error) {
	c, err := typedclient.New(cfg, typedclient.Kind[*v1alpha1.AgentSetting, *v1alpha1.AgentSettingList]{
		GroupVersion: v1alpha1.SchemeGroupVersion, AddToScheme: v1alpha1.AddToScheme, Resource: "agentsettings",
		New:     func() *v1alpha1.AgentSetting { return &v1alpha1.AgentSetting{} },
		NewList: func() *v1alpha1.AgentSettingList { return &v1alpha1.AgentSettingList{} },
	})
	if err != nil {
		return nil, err
	}
	return c.Namespace(""), nil
}

// Commands reads and writes the BCS Commands of one namespace ("" for all).
type Commands = gentype.ClientWithList[*v1alpha1.Command, *v1alpha1.CommandList]

// NewCommands returns Command clients for cfg.
func NewCommands(cfg *rest.Config) (*typedclient.Clients[*v1alpha1.Command, *v1alpha1.CommandList], error) {
	return typedclient.New(cfg, typedclient.Kind[*v1alpha1.Command, *v1alpha1.CommandList]{
		GroupVersion: v1alpha1.SchemeGroupVersion, AddToScheme: v1alpha1.AddToScheme, Resource: "commands",
		New:     func() *v1alpha1.Command { return &v1alpha1.Command{} },
		NewList: func() *v1alpha1.CommandList { return &v1alpha1.CommandList{} },
	})
}

// NewDeployments returns Deployment clients for cfg.
func NewDeployments(cfg *rest.Config) (*typedclient.Clients[*v1alpha1.Deployment, *v1alpha1.DeploymentList], error) {
	return typedclient.New(cfg, typedclient.Kind[*v1alpha1.Deployment, *v1alpha1.DeploymentList]{
		GroupVersion: v1alpha1.SchemeGroupVersion, AddToScheme: v1alpha1.AddToScheme, Resource: "deployments",
		New:     func() *v1alpha1.Deployment { return &v1alpha1.Deployment{} },
		NewList: func() *v1alpha1.DeploymentList { return &v1alpha1.DeploymentList{} },
	})
}
