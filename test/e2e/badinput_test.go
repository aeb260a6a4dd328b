package e2e

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// TestBadInput sends what clients get wrong and checks each gets a clear
// error and leaves the namespace as it was.
func TestBadInput(t *testing.T) {
	s := Shared(t)
	ns := s.Namespace(t)
	ctx := context.Background()
	createPods(t, s.Client, ns, "keep", 1, nil)
	before, err := s.Client.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	c := s.httpClient(t)
	podsURL := s.URL + "/api/v1/namespaces/" + ns + "/pods"
	valid := `{"apiVersion":"v1","kind":"Pod","metadata":{"name":"NAME"},"spec":{"containers":[{"name":"c","image":"busybox:1"}]}}`
	huge := strings.Replace(valid, `"name":"NAME"`, `"name":"huge","annotations":{"a":"`+strings.Repeat("x", 3*1024*1024+10)+`"}`, 1)

	for _, tc := range []struct {
		name, method, url, contentType, body string
		code                                 int
		fragment                             string
	}{
		{"malformed JSON", "POST", podsURL, "application/json", `{"apiVersion":"v1","kind":"Pod",`, 400, ""},
		{"malformed YAML", "POST", podsURL, "application/yaml", "apiVersion: v1\nkind: Pod\nmetadata:\n  name: [unclosed\n", 400, ""},
		{"wrong type for a field", "POST", podsURL, "application/json", strings.Replace(valid, `"image":"busybox:1"`, `"image":42`, 1), 400, ""},
		{"body over 3 MiB", "POST", podsURL, "application/json", huge, 413, ""},
		{"unsupported media type", "POST", podsURL, "text/plain", "hello", 415, ""},
		{"another kind", "POST", podsURL, "application/json", `{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"cm"}}`, 400, "ConfigMap"},
		{"namespace differs from the URL", "POST", podsURL, "application/json", strings.Replace(valid, `"name":"NAME"`, `"name":"x","namespace":"other"`, 1), 400, "does not match"},
		{"name differs from the URL", "PUT", podsURL + "/keep-0", "application/json", strings.Replace(valid, "NAME", "other", 1), 400, "does not match"},
		{"bad patch JSON", "PATCH", podsURL + "/keep-0", "application/merge-patch+json", `{"metadata":`, 400, ""},
		{"unknown patch type", "PATCH", podsURL + "/keep-0", "application/x-patch", `{}`, 415, ""},
		{"bad label selector", "GET", podsURL + "?labelSelector=a%20in%20(b", "", "", 400, "unable to parse requirement"},
		{"bad resourceVersion", "GET", podsURL + "?resourceVersion=abc&resourceVersionMatch=Exact", "", "", 400, ""},
		{"bad limit", "GET", podsURL + "?limit=abc", "", "", 400, ""},
		{"bad gracePeriodSeconds", "DELETE", podsURL + "/keep-0?gracePeriodSeconds=soon", "", "", 400, ""},
		{"unknown subresource", "GET", podsURL + "/keep-0/nothing", "", "", 404, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequestWithContext(ctx, tc.method, tc.url, bytes.NewBufferString(tc.body))
			req.Header.Set("Authorization", "Bearer "+s.Config.BearerToken)
			if tc.contentType != "" {
				req.Header.Set("Content-Type", tc.contentType)
			}
			resp, err := c.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != tc.code {
				t.Fatalf("%d %s, want %d", resp.StatusCode, trim(body), tc.code)
			}
			if !strings.Contains(string(body), `"kind":"Status"`) {
				t.Errorf("error body is not a Status: %s", trim(body))
			}
			if tc.fragment != "" && !strings.Contains(string(body), tc.fragment) {
				t.Errorf("error %s lacks %q", trim(body), tc.fragment)
			}
		})
	}

	// kubectl reports a broken manifest without sending it.
	if _, errOut, err := s.KubectlResult("apiVersion: v1\nkind: Pod\nmetadata: [\n", "create", "-n", ns, "-f", "-"); err == nil || errOut == "" {
		t.Errorf("kubectl create of broken YAML: %v %q", err, errOut)
	}

	after, err := s.Client.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(after.Items) != len(before.Items) || after.Items[0].ResourceVersion != before.Items[0].ResourceVersion {
		t.Errorf("bad input changed the namespace: %v -> %v", names(before.Items), names(after.Items))
	}
}

func trim(b []byte) string {
	if len(b) > 300 {
		return string(b[:300]) + "..."
	}
	return string(b)
}
