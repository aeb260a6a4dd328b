// Package runcommand holds what the parts of the run-command feature share:
// where commands and their pods live, a typed client for RunCommands, and
// the bearer tokens a command's pod acts with.
package runcommand

import (
	"time"

	"k8s.io/client-go/gentype"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/cache"

	"github.com/podyard/podyard/internal/apis/podyard/v1alpha1"
	"github.com/podyard/podyard/internal/typedclient"
)

const (
	// Namespace holds every RunCommand and the pod that runs it.
	Namespace = "podyard-command"
	// Label marks a command's pod and secret with the command's name.
	Label = "podyard.io/run-command"
	// TokenKey is the key of the token in a command's secret.
	TokenKey = "token"
)

// PodName is the name of the pod (and of the secret) of command id, as AKS names it.
func PodName(id string) string { return "command-" + id }

// Client reads and writes RunCommands in Namespace.
type Client = gentype.ClientWithList[*v1alpha1.RunCommand, *v1alpha1.RunCommandList]

// NewClient returns a RunCommand client for cfg.
func NewClient(cfg *rest.Config) (*Client, error) {
	clients, err := typedclient.New(cfg, typedclient.Kind[*v1alpha1.RunCommand, *v1alpha1.RunCommandList]{
		GroupVersion: v1alpha1.SchemeGroupVersion, AddToScheme: v1alpha1.AddToScheme, Resource: "runcommands",
		New:     func() *v1alpha1.RunCommand { return &v1alpha1.RunCommand{} },
		NewList: func() *v1alpha1.RunCommandList { return &v1alpha1.RunCommandList{} },
	})
	if err != nil {
		return nil, err
	}
	return clients.Namespace(Namespace), nil
}

// NewInformer watches the RunCommands c reaches, with indexers.
func NewInformer(c *Client, indexers cache.Indexers) cache.SharedIndexInformer {
	return typedclient.NewInformer(c, &v1alpha1.RunCommand{}, 10*time.Minute, indexers)
}
