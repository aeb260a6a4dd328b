package bcs

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apiserver/pkg/authentication/user"
	"k8s.io/client-go/dynamic"

	"github.com/podyard/podyard/internal/apis/bcs/v1alpha1"
	"github.com/podyard/podyard/internal/bcs/application"
	"github.com/podyard/podyard/internal/nodeclient"
)

// applicationsResource is where Applications are served.
var applicationsResource = v1alpha1.SchemeGroupVersion.WithResource("applications")

// apps serves the application routes of one BCS namespace as the caller:
// the Application object (bcs.podyard.io) and the Pods of its taskgroups,
// which the application controller makes. The views are built in
// applications.go; this only reads and writes.
type apps struct {
	objects
	dyn     dynamic.Interface
	cluster string
	cache   *TaskGroupCache // the read routes' taskgroup Pods; nil: through the API
	caller  user.Info
	agents  *nodeclient.Connector // reaches the node agents (messages)
	// webhooks are the admission webhooks creates and updates go through.
	webhooks *WebhookCache
}

func (a apps) client() dynamic.ResourceInterface {
	return a.dyn.Resource(applicationsResource).Namespace(a.target.KubeNamespace)
}

// serve answers the data of a successful request.
func (a apps) serve(ctx context.Context, r *http.Request, route Route, body func() ([]byte, *Error)) (any, *Error) {
	switch {
	case route.Name == "" && r.Method == http.MethodPost:
		b, err := a.admitted(ctx, OperationCreate, KindApplication, body)
		if err != nil {
			return nil, err
		}
		return nil, a.create(ctx, b)
	case route.Name == "" && r.Method == http.MethodGet:
		return a.list(ctx)
	case route.Name != "" && route.Sub == "" && r.Method == http.MethodGet:
		app, err := a.get(ctx, route.Name)
		if err != nil {
			return nil, err
		}
		pods, err := a.readTaskGroupPods(ctx, app)
		if err != nil {
			return nil, err
		}
		return ToApplicationView(app, a.target.Namespace, a.cluster, TaskGroupIDs(pods)), nil
	case route.Name != "" && route.Sub == "" && r.Method == http.MethodDelete:
		return nil, a.delete(ctx, route.Name, r.URL.Query().Get("enforce"))
	case (route.Sub == SubTaskGroups || route.Sub == SubTasks) && r.Method == http.MethodGet:
		tgs, err := a.taskGroups(ctx, route.Name)
		if err != nil || route.Sub == SubTaskGroups {
			return tgs, err
		}
		return Tasks(tgs), nil
	case route.Sub == SubDefinition && r.Method == http.MethodGet:
		app, err := a.get(ctx, route.Name)
		if err != nil {
			return nil, err
		}
		return application.ToDefinition(app.Spec), nil
	case route.Sub == SubVersions && r.Method == http.MethodGet:
		return a.versions(ctx, route.Name, route.Version)
	case route.Sub == SubScale && r.Method == http.MethodPut:
		return nil, a.scale(ctx, route.Name, route.Instances)
	case route.Sub == SubMessage && (r.Method == http.MethodPost || r.Method == http.MethodPut):
		// The issue says POST; the seed's examples PUT.
		b, err := body()
		if err != nil {
			return nil, err
		}
		return a.message(ctx, route.Name, route.TaskGroup, b)
	case route.Sub == SubRescheduler && r.Method == http.MethodPut:
		return nil, a.reschedule(ctx, route.Name, route.TaskGroup, r.URL.Query().Get("hostRetainTime"))
	case route.Name == "" && r.Method == http.MethodPut:
		b, err := a.admitted(ctx, OperationUpdate, KindApplication, body)
		if err != nil {
			return nil, err
		}
		q := r.URL.Query()
		return nil, a.update(ctx, b, q.Get("instances"), q.Get("args") == "resource", false)
	case route.Name == "rollback" && route.Sub == "" && r.Method == http.MethodPut:
		b, err := a.admitted(ctx, OperationUpdate, KindApplication, body)
		if err != nil {
			return nil, err
		}
		return nil, a.update(ctx, b, "", false, true)
	}
	return nil, &Error{Status: http.StatusMethodNotAllowed, Code: CodeNotFound, Message: fmt.Sprintf("%s is not allowed on %s", r.Method, r.URL.Path)}
}

// create makes the Application (and the namespace on first use); nothing
// is left when it cannot be made.
func (a apps) create(ctx context.Context, body []byte) *Error {
	app, err := ToApplication(a.target, body)
	if err != nil {
		return err
	}
	u, cerr := toUnstructured(app)
	if cerr != nil {
		return internalError(cerr)
	}
	return a.createWith(ctx, func() error {
		_, err := a.client().Create(ctx, u, metav1.CreateOptions{})
		return err
	})
}

// get is the Application of a BCS name; a missing one is 1405202.
func (a apps) get(ctx context.Context, bcsName string) (*v1alpha1.Application, *Error) {
	name, err := KubeName(bcsName)
	if err != nil {
		return nil, err
	}
	u, gerr := a.client().Get(ctx, name, metav1.GetOptions{})
	if apierrors.IsNotFound(gerr) {
		return nil, Errorf(CodeNotFound, "application %s.%s not exist", a.target.Namespace, bcsName)
	} else if gerr != nil {
		return nil, fromAPIError(gerr, KindApplication)
	}
	return fromUnstructured[v1alpha1.Application](u)
}

// list is every application of the namespace; none is null, as in BCS.
func (a apps) list(ctx context.Context) ([]*ApplicationView, *Error) {
	list, err := a.client().List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, fromAPIError(err, KindApplication)
	}
	if len(list.Items) == 0 {
		return nil, nil
	}
	all, ok, cerr := a.cache.Pods(ctx, a.caller, a.target.KubeNamespace, "")
	if cerr != nil {
		return nil, cerr
	}
	if !ok {
		pods, err := a.kube.CoreV1().Pods(a.target.KubeNamespace).List(ctx, metav1.ListOptions{LabelSelector: application.LabelApplication})
		if err != nil {
			return nil, fromAPIError(err, "taskgroup")
		}
		all = podPointers(pods.Items)
	}
	var out []*ApplicationView
	for i := range list.Items {
		app, err := fromUnstructured[v1alpha1.Application](&list.Items[i])
		if err != nil {
			return nil, err
		}
		out = append(out, ToApplicationView(app, a.target.Namespace, a.cluster, TaskGroupIDs(OwnedTaskGroups(app, all))))
	}
	return out, nil
}

// readTaskGroupPods are the Pods of app's taskgroups for a read route:
// from the cache when it can answer.
func (a apps) readTaskGroupPods(ctx context.Context, app *v1alpha1.Application) ([]*corev1.Pod, *Error) {
	pods, ok, err := a.cache.Pods(ctx, a.caller, a.target.KubeNamespace, app.Name)
	switch {
	case err != nil:
		return nil, err
	case !ok:
		return a.taskGroupPods(ctx, app)
	}
	return OwnedTaskGroups(app, pods), nil
}

// taskGroupPods are the Pods of app's taskgroups, listed through the API.
func (a apps) taskGroupPods(ctx context.Context, app *v1alpha1.Application) ([]*corev1.Pod, *Error) {
	pods, err := a.kube.CoreV1().Pods(a.target.KubeNamespace).List(ctx, metav1.ListOptions{LabelSelector: application.LabelApplication + "=" + app.Name})
	if err != nil {
		return nil, fromAPIError(err, "taskgroup")
	}
	return OwnedTaskGroups(app, podPointers(pods.Items)), nil
}

// taskGroups are the views of an application's taskgroups (null for none).
func (a apps) taskGroups(ctx context.Context, bcsName string) ([]*TaskGroupView, *Error) {
	app, err := a.get(ctx, bcsName)
	if err != nil {
		return nil, err
	}
	pods, err := a.readTaskGroupPods(ctx, app)
	if err != nil {
		return nil, err
	}
	var out []*TaskGroupView
	for _, p := range pods {
		out = append(out, ToTaskGroupView(app, a.target.Namespace, p))
	}
	return out, nil
}

// delete deletes the Application with background propagation, so the
// garbage collector deletes its Pods, and then deletes its taskgroup Pods
// itself: that gives them the grace the request asks for (enforce=1: none;
// else the kill policy's) and makes the route complete where no garbage
// collector runs. The Application goes first, so its controller makes no
// new taskgroups meanwhile.
func (a apps) delete(ctx context.Context, bcsName, enforce string) *Error {
	app, err := a.get(ctx, bcsName)
	if err != nil {
		return err
	}
	background := metav1.DeletePropagationBackground
	derr := a.client().Delete(ctx, app.Name, metav1.DeleteOptions{
		PropagationPolicy: &background, Preconditions: &metav1.Preconditions{UID: &app.UID},
	})
	if apierrors.IsNotFound(derr) {
		return Errorf(CodeNotFound, "application %s.%s not exist", a.target.Namespace, bcsName)
	} else if derr != nil {
		return fromAPIError(derr, KindApplication)
	}
	pods, err := a.taskGroupPods(ctx, app)
	if err != nil {
		return err
	}
	grace := DeleteGrace(enforce, app)
	for _, p := range pods {
		if p.DeletionTimestamp != nil && grace == nil {
			continue
		}
		err := a.kube.CoreV1().Pods(p.Namespace).Delete(ctx, p.Name, metav1.DeleteOptions{
			GracePeriodSeconds: grace, Preconditions: &metav1.Preconditions{UID: &p.UID},
		})
		if err != nil && !apierrors.IsNotFound(err) && !apierrors.IsConflict(err) {
			return fromAPIError(err, "taskgroup")
		}
	}
	return nil
}

// scale sets spec.instance; the controller adds the next indexes or
// removes the highest.
func (a apps) scale(ctx context.Context, bcsName, instances string) *Error {
	n, err := ParseInstances(instances)
	if err != nil {
		return err
	}
	app, err := a.get(ctx, bcsName)
	if err != nil {
		return err
	}
	patch, _ := json.Marshal(map[string]any{"spec": map[string]any{"instance": n}})
	_, perr := a.client().Patch(ctx, app.Name, types.MergePatchType, patch, metav1.PatchOptions{})
	if apierrors.IsNotFound(perr) {
		return Errorf(CodeNotFound, "application %s.%s not exist", a.target.Namespace, bcsName)
	} else if perr != nil {
		return fromAPIError(perr, KindApplication)
	}
	return nil
}

// update replaces the definition of the application the body names
// (spec.instance stays) and marks the taskgroups to rebuild, oldest
// first: ?instances= of them for an update (0: all), all for a rollback
// (BCS's rollback is an update of every taskgroup to the posted
// definition), none for args=resource. The application controller then
// rebuilds the marked ones one at a time, updatePolicy.updateDelay apart,
// each at its index with a new ID from the new definition, the
// application Operating ("application in updating") until the last is
// made. An update while one is under way is refused, as BCS refuses one
// while the application is Operating. With args=resource only the
// resources may change, and every taskgroup gets them in place (pods/resize,
// no container restarts).
func (a apps) update(ctx context.Context, body []byte, instances string, resourcesOnly, rollback bool) *Error {
	posted, err := ToApplication(a.target, body)
	if err != nil {
		return err
	}
	return a.updateTo(ctx, posted, instances, resourcesOnly, rollback)
}

// updateTo is update with the posted application read (a deployment's
// args=resource passes its application's).
func (a apps) updateTo(ctx context.Context, posted *v1alpha1.Application, instances string, resourcesOnly, rollback bool) *Error {
	var err *Error
	var current *v1alpha1.Application
	n := 0 // taskgroups to rebuild; 0: all
	for attempt := 0; ; attempt++ {
		if current, err = a.get(ctx, posted.Spec.Metadata.Name); err != nil {
			return err
		}
		if !rollback && !resourcesOnly { // checked before anything changes
			if n, err = ParseUpdateInstances(instances, current.Spec.Instance); err != nil {
				return err
			}
		}
		if !resourcesOnly {
			pods, err := a.taskGroupPods(ctx, current)
			if err != nil {
				return err
			}
			if application.Updating(pods) {
				return &Error{Status: http.StatusConflict, Code: CodeCommon, Message: "Operation Not Allowed: the application is being updated"}
			}
		}
		updated, err := Updated(current, posted, resourcesOnly)
		if err != nil {
			return err
		}
		u, cerr := toUnstructured(updated)
		if cerr != nil {
			return internalError(cerr)
		}
		_, uerr := a.client().Update(ctx, u, metav1.UpdateOptions{})
		if uerr == nil {
			current = updated
			break
		}
		if !apierrors.IsConflict(uerr) || attempt == 2 {
			return fromAPIError(uerr, KindApplication)
		}
	}
	pods, err := a.taskGroupPods(ctx, current)
	if err != nil {
		return err
	}
	if resourcesOnly {
		return resizeTaskGroups(ctx, a.kube, current, pods)
	}
	mark := application.MarkRebuild(time.Now())
	for _, p := range OldestTaskGroups(pods, n) {
		if err := a.annotate(ctx, p, application.AnnotationRebuild, mark); err != nil {
			return err
		}
	}
	return nil
}

// annotate sets one annotation on a taskgroup Pod (the one with p's UID;
// a Pod gone meanwhile is left alone).
func (a apps) annotate(ctx context.Context, p *corev1.Pod, key, value string) *Error {
	patch, _ := json.Marshal(map[string]any{"metadata": map[string]any{
		"uid": p.UID, "annotations": map[string]string{key: value},
	}})
	_, err := a.kube.CoreV1().Pods(p.Namespace).Patch(ctx, p.Name, types.MergePatchType, patch, metav1.PatchOptions{})
	if err != nil && !apierrors.IsNotFound(err) && !apierrors.IsConflict(err) {
		return fromAPIError(err, "taskgroup")
	}
	return nil
}

func podPointers(pods []corev1.Pod) []*corev1.Pod {
	out := make([]*corev1.Pod, len(pods))
	for i := range pods {
		out[i] = &pods[i]
	}
	return out
}

// toUnstructured is a bcs.podyard.io object for the dynamic client.
func toUnstructured[T interface {
	runtime.Object
	GetName() string
}](obj T) (*unstructured.Unstructured, error) {
	u, err := runtime.DefaultUnstructuredConverter.ToUnstructured(obj)
	if err != nil {
		return nil, fmt.Errorf("%T %s: %w", obj, obj.GetName(), err)
	}
	return &unstructured.Unstructured{Object: u}, nil
}

// fromUnstructured reads u as a T (an Application, an ApplicationVersion).
func fromUnstructured[T any](u *unstructured.Unstructured) (*T, *Error) {
	obj := new(T)
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, obj); err != nil {
		return nil, internalError(fmt.Errorf("%s %s: %w", u.GetKind(), u.GetName(), err))
	}
	return obj, nil
}
