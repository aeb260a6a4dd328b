package queryparams

import (
	"net/url"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
)

func TestDecodeQueryLogOptions(t *testing.T) {
	cases := []struct {
		query   string
		check   func(o *corev1.PodLogOptions) bool
		wantErr bool
	}{
		{"", func(o *corev1.PodLogOptions) bool { return *o == corev1.PodLogOptions{} }, false},
		{"container=app&follow=true&previous=1&timestamps=yes", func(o *corev1.PodLogOptions) bool {
			return o.Container == "app" && o.Follow && o.Previous && o.Timestamps
		}, false},
		{"follow=false&previous=0&timestamps=no", func(o *corev1.PodLogOptions) bool {
			return !o.Follow && !o.Previous && !o.Timestamps
		}, false},
		{"tailLines=10&limitBytes=2048&sinceSeconds=30", func(o *corev1.PodLogOptions) bool {
			return *o.TailLines == 10 && *o.LimitBytes == 2048 && *o.SinceSeconds == 30
		}, false},
		{"sinceTime=2026-01-02T03:04:05Z", func(o *corev1.PodLogOptions) bool {
			return o.SinceTime.Time.Equal(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC))
		}, false},
		{"insecureSkipTLSVerifyBackend=true&stream=Stderr", func(o *corev1.PodLogOptions) bool {
			return o.InsecureSkipTLSVerifyBackend && *o.Stream == "Stderr"
		}, false},
		{"tailLines=ten", nil, true},
		{"sinceTime=yesterday", nil, true},
	}
	for _, tc := range cases {
		values, _ := url.ParseQuery(tc.query)
		var o corev1.PodLogOptions
		err := Decode(values, &o)
		if (err != nil) != tc.wantErr {
			t.Errorf("%q: error %v", tc.query, err)
			continue
		}
		if err == nil && !tc.check(&o) {
			t.Errorf("%q decoded to %+v", tc.query, o)
		}
	}
}

func TestDecodeQueryExecOptionsRepeatCommand(t *testing.T) {
	values, _ := url.ParseQuery("command=sh&command=-c&command=echo+hi&stdin=true&tty=1&container=c")
	var o corev1.PodExecOptions
	if err := Decode(values, &o); err != nil {
		t.Fatal(err)
	}
	if len(o.Command) != 3 || o.Command[2] != "echo hi" || !o.Stdin || !o.TTY || o.Container != "c" || o.Stdout {
		t.Errorf("decoded %+v", o)
	}
}
