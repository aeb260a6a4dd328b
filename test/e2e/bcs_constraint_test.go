package e2e

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/podyard/podyard/internal/bcs/application"
	"github.com/podyard/podyard/internal/bcs/attributes"
	"github.com/podyard/podyard/internal/dialect/bcs"
)

// TestBCSConstraints: on a cluster of two agents with BCS attributes (the
// all-in-one node cordoned), applications posted over the BCS API land
// where their constraints say: UNIQUE hostname puts 3 instances on 2
// nodes and leaves the third Pending with the rule in its PodScheduled
// message; CLUSTER and LIKE on a zone attribute take only the matching
// node; MAXPER 2 per host fills both and leaves the fifth Pending; GREATER
// on a scalar picks the bigger node; a node with a NoSchedule taint (as
// agent settings' noSchedule makes it) is taken only by the application
// with a matching TOLERATION.
func TestBCSConstraints(t *testing.T) {
	s, upNode := StartCluster(t)
	ctx := context.Background()
	nodes := s.Client.CoreV1().Nodes()
	a, b := "cons-a", "cons-b"
	StartAgent(t, s, a, "")
	StartAgent(t, s, b, "")
	s.Kubectl("cordon", upNode)
	setAttributes := func(node string, set attributes.Set) {
		t.Helper()
		patch, _ := json.Marshal(map[string]any{"metadata": map[string]any{"annotations": map[string]string{attributes.Annotation: attributes.Encode(set)}}})
		if _, err := nodes.Patch(ctx, node, types.MergePatchType, patch, metav1.PatchOptions{}); err != nil {
			t.Fatalf("attributes of %s: %v", node, err)
		}
	}
	setAttributes(a, attributes.Set{Strings: map[string]string{"zone": "sh-1"}, Scalars: map[string]float64{"cores": 8}})
	setAttributes(b, attributes.Set{Strings: map[string]string{"zone": "sz-1"}, Scalars: map[string]float64{"cores": 4}})

	ns := s.Namespace(t)
	c := &bcsClient{t: t, base: s.URL + "/bcsapi/v4/scheduler/mesos", token: s.Config.BearerToken,
		http: &http.Client{Timeout: time.Minute, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: caPool(t, s)}}}}
	post := func(app string, instances int, constraint string) {
		t.Helper()
		body := fmt.Sprintf(`{"apiVersion":"v4","kind":"application","metadata":{"name":%q,"namespace":%q},
			"restartPolicy":{"policy":"Always"},"killPolicy":{"gracePeriod":1},"constraint":%s,
			"spec":{"instance":%d,"template":{"spec":{"containers":[
				{"image":"busybox","command":"sleep","args":["3600"],"resources":{"limits":{"cpu":"0.02","memory":"8"}}}]}}}}`,
			app, ns, constraint, instances)
		c.do("POST", "/namespaces/"+ns+"/applications", bcs.DefaultClusterID, body).expect(t, "create "+app, 200, 0)
	}
	rule := func(r string) string { return `{"intersectionItem":[{"unionData":[` + r + `]}]}` }

	// placed waits until app has want taskgroup Pods, every one bound or
	// told why not, and returns their nodes (sorted; "" for Pending) and
	// the Pending ones' PodScheduled messages.
	placed := func(app string, want int) (where []string, messages []string) {
		t.Helper()
		waitFor(t, fmt.Sprintf("%d taskgroups of %s placed or refused", want, app), func() bool {
			pods, err := s.Client.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: application.LabelApplication + "=" + app})
			if err != nil || len(pods.Items) != want {
				return false
			}
			where, messages = nil, nil
			for _, p := range pods.Items {
				if p.Spec.NodeName != "" {
					where = append(where, p.Spec.NodeName)
					continue
				}
				cond := podCondition(&p, corev1.PodScheduled)
				if cond == nil || cond.Status != corev1.ConditionFalse {
					return false
				}
				where = append(where, "")
				messages = append(messages, cond.Message)
			}
			slices.Sort(where)
			return true
		})
		return where, messages
	}
	expect := func(app string, where, messages, wantWhere []string, wantMessage string) {
		t.Helper()
		if !slices.Equal(where, wantWhere) {
			t.Errorf("%s: on %q, want %q", app, where, wantWhere)
		}
		for _, m := range messages {
			if m != wantMessage {
				t.Errorf("%s: Pending with %q, want %q", app, m, wantMessage)
			}
		}
	}

	post("unique", 3, rule(`{"name":"hostname","operate":"UNIQUE"}`))
	post("cluster", 2, rule(`{"name":"zone","operate":"CLUSTER","type":3,"text":{"value":"sz-1"}}`))
	post("like", 2, rule(`{"name":"zone","operate":"LIKE","type":3,"text":{"value":"sh-*"}}`))
	post("maxper", 5, rule(`{"name":"hostname","operate":"MAXPER","type":3,"text":{"value":"2"}}`))
	post("greater", 2, rule(`{"name":"cores","operate":"GREATER","type":1,"scalar":{"value":6}}`))

	where, msgs := placed("unique", 3)
	expect("unique", where, msgs, []string{"", a, b}, "0/3 nodes are available: 1 node(s) were unschedulable, 2 node(s) didn't match BCS constraint UNIQUE hostname.")
	where, msgs = placed("cluster", 2)
	expect("cluster", where, msgs, []string{b, b}, "")
	where, msgs = placed("like", 2)
	expect("like", where, msgs, []string{a, a}, "")
	where, msgs = placed("maxper", 5)
	expect("maxper", where, msgs, []string{"", a, a, b, b}, "0/3 nodes are available: 1 node(s) were unschedulable, 2 node(s) didn't match BCS constraint MAXPER hostname.")
	where, msgs = placed("greater", 2)
	expect("greater", where, msgs, []string{a, a}, "")

	// The taskgroups placed run there.
	waitFor(t, "the UNIQUE taskgroups Running on their nodes", func() bool {
		pods, err := s.Client.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: application.LabelApplication + "=unique"})
		n := 0
		for _, p := range pods.Items {
			if p.Status.Phase == corev1.PodRunning {
				n++
			}
		}
		return err == nil && n == 2
	})

	// Scaled to 2, the unique application's Pending taskgroup is gone or
	// takes the node the removed one leaves (before b is tainted below:
	// the freed node may be b).
	c.do("PUT", "/namespaces/"+ns+"/applications/unique/scale/2", bcs.DefaultClusterID, "").expect(t, "scale unique to 2", 200, 0)
	waitFor(t, "unique on both nodes after the scale", func() bool {
		pods, err := s.Client.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: application.LabelApplication + "=unique"})
		var on []string
		for _, p := range pods.Items {
			if p.DeletionTimestamp == nil {
				on = append(on, p.Spec.NodeName)
			}
		}
		slices.Sort(on)
		return err == nil && slices.Equal(on, []string{a, b})
	})

	// Agent settings' noSchedule{dedicated: gpu} on b.
	s.Kubectl("taint", "node", b, "dedicated=gpu:NoSchedule")
	onB := `{"name":"hostname","operate":"CLUSTER","type":3,"text":{"value":"` + b + `"}}`
	tolerate := `{"unionData":[{"name":"dedicated","operate":"TOLERATION","type":3,"text":{"value":"gpu"}}]}`
	post("plain", 1, rule(onB))
	post("tolerant", 1, `{"intersectionItem":[{"unionData":[`+onB+`]},`+tolerate+`]}`)
	where, msgs = placed("plain", 1)
	expect("plain", where, msgs, []string{""}, "0/3 nodes are available: 1 node(s) had untolerated taint {dedicated: gpu}, 1 node(s) were unschedulable, 2 node(s) didn't match BCS constraint CLUSTER hostname.")
	where, msgs = placed("tolerant", 1)
	expect("tolerant", where, msgs, []string{b}, "")
}

func podCondition(p *corev1.Pod, typ corev1.PodConditionType) *corev1.PodCondition {
	for i := range p.Status.Conditions {
		if p.Status.Conditions[i].Type == typ {
			return &p.Status.Conditions[i]
		}
	}
	return nil
}
