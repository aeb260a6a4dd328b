package nodeclient

import (
	"net/url"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestExecOptionsRoundTrip(t *testing.T) {
	for _, o := range []ExecOptions{
		{},
		{Env: []string{"A=1", "B=x=y", "EMPTY="}},
		{User: "web"},
		{User: "1000:10", WorkingDir: "/srv", Privileged: true},
		{Timeout: 1500 * time.Millisecond},
	} {
		q := o.Query(url.Values{"command": {"sh"}})
		got, err := ParseExecOptions(q)
		if err != nil {
			t.Fatalf("%+v: %v", o, err)
		}
		if len(o.Env) == 0 {
			o.Env = nil
		}
		if !reflect.DeepEqual(got, o) {
			t.Errorf("round trip of %+v: %+v (query %s)", o, got, q.Encode())
		}
		if q.Get("command") != "sh" {
			t.Errorf("the command was lost: %s", q.Encode())
		}
	}
}

func TestParseExecOptionsRefuses(t *testing.T) {
	for _, tc := range []struct{ query, want string }{
		{"env=NOEQUALS", "want KEY=VALUE"},
		{"env==v", "want KEY=VALUE"},
		{"user=:0", "want NAME or UID"},
		{"user=a:b:c", "want NAME or UID"},
		{"workingDir=rel/dir", "absolute"},
		{"privileged=maybe", "want 1 or 0"},
		{"timeout=5", "positive duration"},
		{"timeout=-1s", "positive duration"},
	} {
		q, _ := url.ParseQuery(tc.query)
		if _, err := ParseExecOptions(q); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: want %q, got %v", tc.query, tc.want, err)
		}
	}
}

// A client's query (nodes/proxy passes it through Streams.Query) never
// carries exec options to the agent.
func TestStreamsQueryStripsExecOptions(t *testing.T) {
	client, _ := url.ParseQuery("command=id&stdout=true&env=X=1&user=0&workingDir=/&privileged=1&timeout=1h")
	q := ParseStreams(client).Query(client)
	got, err := ParseExecOptions(q)
	if err != nil || !reflect.DeepEqual(got, ExecOptions{}) {
		t.Errorf("options reached the agent: %+v, %v (%s)", got, err, q.Encode())
	}
	if q.Get("command") != "id" || q.Get("output") != "1" {
		t.Errorf("query %s", q.Encode())
	}
	// The API server's own options, set after, do.
	q = ExecOptions{User: "web"}.Query(q)
	if got, _ := ParseExecOptions(q); got.User != "web" {
		t.Errorf("query %s", q.Encode())
	}
}
