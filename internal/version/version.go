// Package version says which Podyard this is and which Kubernetes API
// version it serves.
package version

import (
	"fmt"
	"runtime"
	"runtime/debug"

	apimachineryversion "k8s.io/apimachinery/pkg/version"
	basecompatibility "k8s.io/component-base/compatibility"
)

// Podyard is the product version; a release build may override it with
// -ldflags "-X github.com/podyard/podyard/internal/version.Podyard=...".
var Podyard = "0.1.0"

// Kubernetes is the API version served: that of the k8s.io/apiserver library.
const Kubernetes = "1.37.2"

// GitVersion is what /version reports: a semver kubectl accepts, with
// Podyard's own version as build metadata.
func GitVersion() string { return fmt.Sprintf("v%s+podyard.%s", Kubernetes, Podyard) }

// String is the one-line answer of `podyard version`.
func String() string {
	return fmt.Sprintf("podyard %s (Kubernetes API %s, %s, %s/%s)", Podyard, GitVersion(), runtime.Version(), runtime.GOOS, runtime.GOARCH)
}

// Effective is the apiserver's effective version, reporting GitVersion on /version.
func Effective() basecompatibility.EffectiveVersion {
	return effective{basecompatibility.NewEffectiveVersionFromString(Kubernetes, "", "")}
}

type effective struct {
	basecompatibility.MutableEffectiveVersion
}

func (e effective) Info() *apimachineryversion.Info {
	info := e.MutableEffectiveVersion.Info()
	info.GitVersion = GitVersion()
	info.GitTreeState = "clean"
	info.GoVersion = runtime.Version()
	info.Compiler = runtime.Compiler
	info.Platform = runtime.GOOS + "/" + runtime.GOARCH
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				info.GitCommit = s.Value
			case "vcs.time":
				info.BuildDate = s.Value
			case "vcs.modified":
				if s.Value == "true" {
					info.GitTreeState = "dirty"
				}
			}
		}
	}
	return info
}
