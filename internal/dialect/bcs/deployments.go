package bcs

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	apiequality "k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/dynamic"

	"github.com/podyard/podyard/internal/apis/bcs/v1alpha1"
	"github.com/podyard/podyard/internal/bcs/deployment"
)

// deploymentsResource is where Deployments are served.
var deploymentsResource = v1alpha1.SchemeGroupVersion.WithResource("deployments")

// observeTimeout bounds how long a request that changes a deployment's
// spec waits for the deployment controller to act on it, so that the
// answer's status is the new one (BCS's scheduler acted before it
// answered).
const observeTimeout = 10 * time.Second

// deployments serves the deployment routes of one BCS namespace as the
// caller. A request checks what BCS checks and writes the Deployment's
// spec (or, for pause and resume, its status); the deployment controller
// does the rest.
type deployments struct {
	apps
}

func (d deployments) client() dynamic.ResourceInterface {
	return d.dyn.Resource(deploymentsResource).Namespace(d.target.KubeNamespace)
}

func (d deployments) serve(ctx context.Context, r *http.Request, route Route, body func() ([]byte, *Error)) (any, *Error) {
	switch {
	case route.Name == "" && r.Method == http.MethodPost:
		b, err := d.admitted(ctx, OperationCreate, KindDeployment, body)
		if err != nil {
			return nil, err
		}
		return nil, d.create(ctx, b)
	case route.Name == "" && r.Method == http.MethodPut:
		b, err := d.admitted(ctx, OperationUpdate, KindDeployment, body)
		if err != nil {
			return nil, err
		}
		return nil, d.update(ctx, b, r.URL.Query().Get("args") == "resource")
	case route.Name != "" && route.Sub == "" && r.Method == http.MethodGet:
		dep, err := d.get(ctx, route.Name)
		if err != nil {
			return nil, err
		}
		return ToDeploymentView(dep), nil
	case route.Sub == SubDefinition && r.Method == http.MethodGet:
		dep, err := d.get(ctx, route.Name)
		if err != nil {
			return nil, err
		}
		def := dep.Spec
		if dep.Status.Definition != nil {
			def = *dep.Status.Definition
		}
		return deployment.FromSpec(def), nil
	case route.Name != "" && route.Sub == "" && r.Method == http.MethodDelete:
		return nil, d.delete(ctx, route.Name, r.URL.Query().Get("enforce"))
	case route.Sub == SubScale && r.Method == http.MethodPut:
		return nil, d.scale(ctx, route.Name, route.Instances)
	case (route.Sub == SubPauseUpdate || route.Sub == SubResumeUpdate) && r.Method == http.MethodPut:
		return nil, d.pauseOrResume(ctx, route.Name, route.Sub == SubPauseUpdate)
	case route.Sub == SubCancelUpdate && r.Method == http.MethodPut:
		return nil, d.cancel(ctx, route.Name)
	}
	return nil, &Error{Status: http.StatusMethodNotAllowed, Code: CodeNotFound, Message: fmt.Sprintf("%s is not allowed on %s", r.Method, r.URL.Path)}
}

// ToDeployment reads a posted deployment: BCS's checks, the URL's
// namespace, a DNS-safe name.
func ToDeployment(t Target, body []byte, update bool) (*v1alpha1.Deployment, *Error) {
	parse := deployment.Parse
	if update {
		parse = deployment.ParseUpdate
	}
	def, err := parse(body)
	var posted struct {
		Kind     string `json:"kind"`
		Metadata struct {
			Namespace string `json:"namespace"`
		} `json:"metadata"`
	}
	_ = Decode(body, &posted) // a JSON error is parse's to report
	var invalid *deployment.InvalidError
	switch {
	case errors.Is(err, deployment.ErrJSON):
		return nil, Errorf(CodeJSONDecode, "json decode failed! %v", err)
	case posted.Kind != "" && posted.Kind != KindDeployment:
		return nil, Errorf(CodeRequestData, "Kind %s is invalid: the URL is for %s", posted.Kind, KindDeployment)
	case errors.As(err, &invalid):
		return nil, Errorf(CodeParameter, "there is some error in the parameters: %s", invalid.Reason)
	case err != nil:
		return nil, Errorf(CodeParameter, "there is some error in the parameters: %v", err)
	}
	if posted.Metadata.Namespace == "" {
		def.Metadata.Namespace = t.Namespace
	}
	if def.Metadata.Namespace != t.Namespace {
		return nil, Errorf(CodeRequestData, "metadata.namespace %q is not the URL's namespace %q", def.Metadata.Namespace, t.Namespace)
	}
	name, kerr := KubeName(def.Metadata.Name)
	if kerr != nil {
		return nil, kerr
	}
	dep := &v1alpha1.Deployment{
		TypeMeta:   metav1.TypeMeta{APIVersion: v1alpha1.SchemeGroupVersion.String(), Kind: "Deployment"},
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: t.KubeNamespace},
		Spec:       def.ToSpec(),
	}
	if name != def.Metadata.Name {
		dep.Annotations = map[string]string{AnnotationName: def.Metadata.Name}
	}
	return dep, nil
}

// create makes the Deployment; the controller makes or adopts its
// application. More than one application for the selector is refused
// here, as BCS did, and so is a deployment that could have none.
func (d deployments) create(ctx context.Context, body []byte) *Error {
	dep, err := ToDeployment(d.target, body, false)
	if err != nil {
		return err
	}
	list, lerr := d.apps.client().List(ctx, metav1.ListOptions{})
	if lerr != nil && !apierrors.IsNotFound(lerr) {
		return fromAPIError(lerr, KindApplication)
	}
	matching := 0
	if list != nil {
		for i := range list.Items {
			app, err := fromUnstructured[v1alpha1.Application](&list.Items[i])
			if err != nil {
				return err
			}
			if metav1.GetControllerOf(app) == nil && deployment.Matches(dep.Spec.Selector, app) {
				matching++
			}
		}
	}
	switch {
	case matching > 1:
		return Errorf(CodeRequestData, "too many application exist matching deployment: %d applications match the selector %v", matching, dep.Spec.Selector)
	case matching == 0 && dep.Spec.Template == nil:
		return Errorf(CodeParameter, "there is some error in the parameters: no template, and no application matches the selector %v", dep.Spec.Selector)
	}
	u, cerr := toUnstructured(dep)
	if cerr != nil {
		return internalError(cerr)
	}
	if err := d.createWith(ctx, func() error {
		_, err := d.client().Create(ctx, u, metav1.CreateOptions{})
		return err
	}); err != nil {
		if err.Code == CodeExists {
			return Errorf(CodeExists, "deployment(%s.%s) already exist", d.target.Namespace, dep.Spec.Metadata.Name)
		}
		return err
	}
	_, err = d.await(ctx, dep.Name, func(dep *v1alpha1.Deployment) bool { return dep.Status.Application != nil })
	return err
}

// get is the Deployment of a BCS name; a missing one is 1405202.
func (d deployments) get(ctx context.Context, bcsName string) (*v1alpha1.Deployment, *Error) {
	name, err := KubeName(bcsName)
	if err != nil {
		return nil, err
	}
	u, gerr := d.client().Get(ctx, name, metav1.GetOptions{})
	if apierrors.IsNotFound(gerr) {
		return nil, Errorf(CodeNotFound, "deployment %s.%s not exist", d.target.Namespace, bcsName)
	} else if gerr != nil {
		return nil, fromAPIError(gerr, KindDeployment)
	}
	return fromUnstructured[v1alpha1.Deployment](u)
}

// change reads the deployment, lets edit check and change it (a status
// check failing is the answer), and writes it (its status when status,
// else its spec) against the resourceVersion read; a write that lost a
// race reads and checks again.
func (d deployments) change(ctx context.Context, bcsName string, status bool, edit func(*v1alpha1.Deployment) *Error) (*v1alpha1.Deployment, *Error) {
	for attempt := 0; ; attempt++ {
		dep, err := d.get(ctx, bcsName)
		if err != nil {
			return nil, err
		}
		if err := edit(dep); err != nil {
			return nil, err
		}
		u, cerr := toUnstructured(dep)
		if cerr != nil {
			return nil, internalError(cerr)
		}
		var out *unstructured.Unstructured
		if status {
			out, cerr = d.client().UpdateStatus(ctx, u, metav1.UpdateOptions{})
		} else {
			out, cerr = d.client().Update(ctx, u, metav1.UpdateOptions{})
		}
		switch {
		case apierrors.IsConflict(cerr) && attempt < 4:
			continue
		case cerr != nil:
			return nil, fromAPIError(cerr, KindDeployment)
		}
		return fromUnstructured[v1alpha1.Deployment](out)
	}
}

// statusError is an operation the deployment's status does not allow.
func statusError(err error) *Error {
	var se *deployment.StatusError
	var invalid *deployment.InvalidError
	switch {
	case errors.As(err, &se):
		return &Error{Status: http.StatusConflict, Code: CodeCommon, Message: err.Error()}
	case errors.As(err, &invalid):
		return Errorf(CodeParameter, "there is some error in the parameters: %s", invalid.Reason)
	case err != nil:
		return &Error{Status: http.StatusConflict, Code: CodeCommon, Message: err.Error()}
	}
	return nil
}

// update is PUT: a rolling update to the posted definition, or with
// args=resource the new resources in place on every taskgroup of the
// deployment's application (as for an application, no restart).
func (d deployments) update(ctx context.Context, body []byte, resourcesOnly bool) *Error {
	posted, err := ToDeployment(d.target, body, !resourcesOnly)
	if err != nil {
		return err
	}
	bcsName := posted.Spec.Metadata.Name
	var app *v1alpha1.Application
	dep, err := d.change(ctx, bcsName, false, func(dep *v1alpha1.Deployment) *Error {
		if dep.Status.Application == nil {
			return statusError(&deployment.StatusError{Op: "update", Status: dep.Status.Status, Allowed: []string{deployment.StatusRunning}})
		}
		var err *Error
		if app, err = d.apps.get(ctx, dep.Status.Application.Name); err != nil {
			return err
		}
		if resourcesOnly {
			if err := statusError(deployment.Scale(dep.Status.Status, max(int(dep.Spec.Instance), 1))); err != nil {
				return Errorf(err.Code, "cannot update the resources of a deployment whose status is %s: only while Running", dep.Status.Status)
			}
			spec, err := withResources(dep.Spec, posted.Spec)
			if err != nil {
				return err
			}
			dep.Spec = spec
			return nil
		}
		if err := statusError(deployment.StartUpdate(dep.Status.Status, app.Status.Status, dep.Spec.Selector, posted.Spec.Selector)); err != nil {
			return err
		}
		dep.Spec = posted.Spec
		return nil
	})
	if err != nil {
		return err
	}
	if resourcesOnly {
		postedApp := &v1alpha1.Application{ObjectMeta: metav1.ObjectMeta{Name: app.Name},
			Spec: deployment.FromSpec(dep.Spec).Application(app.Spec.Metadata.Name, app.Spec.Instance)}
		if err := d.apps.updateTo(ctx, postedApp, "", true, false); err != nil {
			return err
		}
	}
	_, err = d.await(ctx, dep.Name, func(got *v1alpha1.Deployment) bool { return got.Status.ObservedGeneration >= dep.Generation })
	return err
}

// withResources is spec with the containers' resources of posted, which
// may differ from spec in nothing else of its template (args=resource;
// the rest of the body, its strategy say, is not looked at).
func withResources(spec, posted v1alpha1.DeploymentSpec) (v1alpha1.DeploymentSpec, *Error) {
	if spec.Template == nil || posted.Template == nil {
		return spec, Errorf(CodeParameter, "there is some error in the parameters: args=resource needs a template in the body and in the deployment")
	}
	out := *spec.DeepCopy()
	have, want := out.Template.Spec.Containers, posted.Template.Spec.Containers
	if len(have) != len(want) {
		return spec, Errorf(CodeParameter, "there is some error in the parameters: args=resource: %d containers, the deployment has %d", len(want), len(have))
	}
	for i := range have {
		have[i].Resources = want[i].Resources
	}
	if !apiequality.Semantic.DeepEqual(*out.Template, *posted.Template) {
		return spec, Errorf(CodeParameter, "there is some error in the parameters: with args=resource only the containers' resources may change")
	}
	return out, nil
}

// scale is PUT scale/{n}: only while Running; the controller scales the
// application.
func (d deployments) scale(ctx context.Context, bcsName, instances string) *Error {
	n, err := ParseInstances(instances)
	if err != nil {
		return err
	}
	dep, err := d.change(ctx, bcsName, false, func(dep *v1alpha1.Deployment) *Error {
		if err := statusError(deployment.Scale(dep.Status.Status, int(n))); err != nil {
			return err
		}
		dep.Spec.Instance = n
		return nil
	})
	if err != nil {
		return err
	}
	_, err = d.await(ctx, dep.Name, func(got *v1alpha1.Deployment) bool { return got.Status.ObservedGeneration >= dep.Generation })
	return err
}

// pauseOrResume is pauseupdate (Update → UpdatePaused) and resumeupdate
// (UpdatePaused or UpdateSuspend → Update), written to the status: the
// controller plans only while it is Update.
func (d deployments) pauseOrResume(ctx context.Context, bcsName string, pause bool) *Error {
	_, err := d.change(ctx, bcsName, true, func(dep *v1alpha1.Deployment) *Error {
		st := &dep.Status
		if pause {
			status, err := deployment.PauseUpdate(st.Status)
			if err != nil {
				return statusError(err)
			}
			st.Status, st.Message = status, "rolling update paused by pauseupdate"
			return nil
		}
		status, p, err := deployment.ResumeUpdate(st.Status, deployment.ProgressOf(st.Progress), time.Now())
		if err != nil {
			return statusError(err)
		}
		st.Status, st.Message, st.Progress = status, "rolling update resumed", p.Status()
		return nil
	})
	return err
}

// cancel is cancelupdate: the definition from before the update goes back
// into spec, which the controller reads as the cancel (new application
// deleted, old one back to its instance count, Running).
func (d deployments) cancel(ctx context.Context, bcsName string) *Error {
	dep, err := d.change(ctx, bcsName, false, func(dep *v1alpha1.Deployment) *Error {
		if _, err := deployment.CancelUpdate(dep.Status.Status); err != nil {
			return statusError(err)
		}
		if dep.Status.DefinitionBackup == nil {
			return internalError(fmt.Errorf("deployment %s is %s but keeps no definition to go back to", bcsName, dep.Status.Status))
		}
		dep.Spec = *dep.Status.DefinitionBackup.DeepCopy()
		return nil
	})
	if err != nil {
		return err
	}
	_, err = d.await(ctx, dep.Name, func(got *v1alpha1.Deployment) bool {
		return got.Status.ObservedGeneration >= dep.Generation && !deployment.Updating(got.Status.Status)
	})
	return err
}

// delete deletes the Deployment, then its applications with the grace the
// request asks for (enforce=1: none). The Deployment goes first (in the
// foreground: it stays, Deleting, until its applications are gone), so its
// controller does not make again what is being deleted.
func (d deployments) delete(ctx context.Context, bcsName, enforce string) *Error {
	dep, err := d.get(ctx, bcsName)
	if err != nil {
		return err
	}
	foreground := metav1.DeletePropagationForeground
	derr := d.client().Delete(ctx, dep.Name, metav1.DeleteOptions{PropagationPolicy: &foreground, Preconditions: &metav1.Preconditions{UID: &dep.UID}})
	if apierrors.IsNotFound(derr) {
		return Errorf(CodeNotFound, "deployment %s.%s not exist", d.target.Namespace, bcsName)
	} else if derr != nil {
		return fromAPIError(derr, KindDeployment)
	}
	for _, ref := range []*v1alpha1.DeploymentApplication{dep.Status.Application, dep.Status.ApplicationExt} {
		if ref == nil {
			continue
		}
		if err := d.apps.delete(ctx, ref.Name, enforce); err != nil && err.Code != CodeNotFound {
			return err
		}
	}
	return nil
}

// await waits until the controller has brought the deployment to done,
// for at most observeTimeout; after that the request still succeeded, and
// the answer says so with the state it is in.
func (d deployments) await(ctx context.Context, name string, done func(*v1alpha1.Deployment) bool) (*v1alpha1.Deployment, *Error) {
	ctx, cancel := context.WithTimeout(ctx, observeTimeout)
	defer cancel()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		u, err := d.client().Get(ctx, name, metav1.GetOptions{})
		if err == nil {
			dep, err := fromUnstructured[v1alpha1.Deployment](u)
			if err != nil {
				return nil, err
			}
			if done(dep) {
				return dep, nil
			}
		} else if !apierrors.IsNotFound(err) && ctx.Err() == nil {
			return nil, fromAPIError(err, KindDeployment)
		}
		select {
		case <-ctx.Done():
			return nil, nil // made; the controller will get to it
		case <-tick.C:
		}
	}
}
