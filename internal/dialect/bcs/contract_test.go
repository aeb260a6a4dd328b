package bcs

import (
	"encoding/json"
	"testing"
)

func TestEnvelope(t *testing.T) {
	for _, tc := range []struct {
		name string
		resp Response
		want string
	}{
		{"success without data", Success(nil), `{"result":true,"code":0,"message":"success","data":null}`},
		{"success with data", Success([]string{"a"}), `{"result":true,"code":0,"message":"success","data":["a"]}`},
		{"error", Errorf(CodeExists, "configmap already exist").Response(), `{"result":false,"code":1405201,"message":"configmap already exist","data":{}}`},
		{"cluster header", CheckCluster("", "BCS-PODYARD-10001").Response(), `{"result":false,"code":1405234,"message":"http header BCS-ClusterID  don't exist","data":null}`},
	} {
		got, err := json.Marshal(tc.resp)
		if err != nil || string(got) != tc.want {
			t.Errorf("%s: %s %v, want %s", tc.name, got, err, tc.want)
		}
	}
}

func TestStatusOf(t *testing.T) {
	for code, want := range map[int]int{
		CodeSuccess: 200, CodeReadBody: 400, CodeBadParameters: 400, CodeRequestData: 400, CodeJSONDecode: 400,
		CodeParameter: 400, CodeFilter: 400, CodeExists: 409, CodeNotFound: 404, CodeCommon: 500, 1405232: 500,
	} {
		if got := StatusOf(code); got != want {
			t.Errorf("StatusOf(%d) = %d, want %d", code, got, want)
		}
		if e := Errorf(code, "x"); e.Status != want {
			t.Errorf("Errorf(%d).Status = %d, want %d", code, e.Status, want)
		}
	}
}

func TestCheckCluster(t *testing.T) {
	for _, tc := range []struct {
		header string
		ok     bool
	}{
		{"BCS-PODYARD-10001", true},
		{"", false},
		{"bcs-podyard-10001", false}, // ids compare exactly
		{"BCS-PODYARD-10002", false},
	} {
		err := CheckCluster(tc.header, "BCS-PODYARD-10001")
		if (err == nil) != tc.ok || err != nil && (err.Code != CodeFilter || err.Status != 400) {
			t.Errorf("CheckCluster(%q) = %v, want ok %v", tc.header, err, tc.ok)
		}
	}
}

func TestClusterNumber(t *testing.T) {
	for _, tc := range []struct {
		id, want string
		ok       bool
	}{
		{"BCS-PODYARD-10001", "10001", true},
		{"BCS-MESOS-20042", "20042", true},
		{"10001", "10001", true},
		{"BCS-PODYARD-", "", false},
		{"BCS-PODYARD", "", false},
		{"BCS-PODYARD-10a01", "", false},
		{"", "", false},
		{"BCS-1234567890123456789", "", false}, // would not fit an int64
	} {
		got, err := ClusterNumber(tc.id)
		if got != tc.want || (err == nil) != tc.ok {
			t.Errorf("ClusterNumber(%q) = %q, %v; want %q, ok %v", tc.id, got, err, tc.want, tc.ok)
		}
	}
}

func TestParsePath(t *testing.T) {
	for _, tc := range []struct {
		path string
		want Route
		ok   bool
	}{
		{"/bcsapi/v4/scheduler/mesos/namespaces/defaultGroup/configmaps", Route{Namespace: "defaultGroup", Kind: KindConfigMap}, true},
		{"/v4/scheduler/mesos/namespaces/defaultGroup/configmaps/", Route{Namespace: "defaultGroup", Kind: KindConfigMap}, true},
		{"/v4/scheduler/mesos/namespaces/defaultGroup/secrets/secret-test", Route{Namespace: "defaultGroup", Kind: KindSecret, Name: "secret-test"}, true},
		{"/bcsapi/v4/scheduler/mesos/namespaces/ns/configmaps/a_b", Route{Namespace: "ns", Kind: KindConfigMap, Name: "a_b"}, true},
		{"/v4/scheduler/mesos/namespaces/ns/services/service-test", Route{Namespace: "ns", Kind: KindService, Name: "service-test"}, true},
		{"/v4/scheduler/mesos/namespaces/ns/deployments", Route{Namespace: "ns", Kind: KindDeployment}, true},
		{"/v4/scheduler/mesos/namespaces/ns/deployments/d/pauseupdate", Route{Namespace: "ns", Kind: KindDeployment, Name: "d", Sub: SubPauseUpdate}, true},
		{"/v4/scheduler/mesos/namespaces/ns/deployments/d/scale/3", Route{Namespace: "ns", Kind: KindDeployment, Name: "d", Sub: SubScale, Instances: "3"}, true},
		{"/v4/scheduler/mesos/namespaces/ns/deployments/d/taskgroups", Route{}, false},
		{"/v4/scheduler/mesos/command/application/ns/app", Route{Namespace: "ns", Kind: KindCommand, Name: "app", Target: KindApplication}, true},
		{"/v4/scheduler/mesos/command/deployment/ns/d", Route{Namespace: "ns", Kind: KindCommand, Name: "d", Target: KindDeployment}, true},
		{"/v4/scheduler/mesos/command/service/ns/d", Route{}, false},
		{"/v4/scheduler/mesos/namespaces/ns/applications/app/message", Route{Namespace: "ns", Kind: KindApplication, Name: "app", Sub: SubMessage}, true},
		{"/v4/scheduler/mesos/namespaces/ns/applications/app/taskgroups/tg/message", Route{Namespace: "ns", Kind: KindApplication, Name: "app", Sub: SubMessage, TaskGroup: "tg"}, true},
		{"/v4/scheduler/mesos/namespaces//configmaps", Route{}, false},
		{"/v4/scheduler/mesos/namespaces/ns/configmaps/a/b", Route{}, false},
		{"/v4/scheduler/mesos/cluster/resources", Route{}, false},
		{"/api/v1/namespaces/ns/configmaps", Route{}, false},
		{"/v4/scheduler/mesos/namespaces/defaultGroup/applications", Route{Namespace: "defaultGroup", Kind: KindApplication}, true},
		{"/v4/scheduler/mesos/namespaces/defaultGroup/applications/app-test", Route{Namespace: "defaultGroup", Kind: KindApplication, Name: "app-test"}, true},
		{"/v4/scheduler/mesos/namespaces/defaultGroup/applications/app-test/taskgroups", Route{Namespace: "defaultGroup", Kind: KindApplication, Name: "app-test", Sub: SubTaskGroups}, true},
		{"/bcsapi/v4/scheduler/mesos/namespaces/defaultGroup/applications/app-test/tasks", Route{Namespace: "defaultGroup", Kind: KindApplication, Name: "app-test", Sub: SubTasks}, true},
		{"/v4/scheduler/mesos/namespaces/defaultGroup/applications/app-test/scale/5", Route{Namespace: "defaultGroup", Kind: KindApplication, Name: "app-test", Sub: SubScale, Instances: "5"}, true},
		{"/v4/scheduler/mesos/namespaces/defaultGroup/applications/app-test/taskgroups/0.app-test.defaultGroup.10001.1/rescheduler", Route{Namespace: "defaultGroup", Kind: KindApplication, Name: "app-test", Sub: SubRescheduler, TaskGroup: "0.app-test.defaultGroup.10001.1"}, true},
		{"/v4/scheduler/mesos/namespaces/defaultGroup/applications/app-test/taskgroups/x/restart", Route{}, false},
		{"/v4/scheduler/mesos/definition/application/defaultGroup/app-test", Route{Namespace: "defaultGroup", Kind: KindApplication, Name: "app-test", Sub: SubDefinition}, true},
		{"/v4/scheduler/mesos/definition/deployment/defaultGroup/app-test", Route{Namespace: "defaultGroup", Kind: KindDeployment, Name: "app-test", Sub: SubDefinition}, true},
		{"/v4/scheduler/mesos/definition/service/defaultGroup/app-test", Route{}, false},
		{"/v4/scheduler/mesos/namespaces/defaultGroup/applications/app-test/scale", Route{}, false},
		{"/v4/scheduler/mesos/namespaces/defaultGroup/applications/app-test/scale/", Route{}, false},
		{"/v4/scheduler/mesos/namespaces/defaultGroup/applications/app-test/versions", Route{Namespace: "defaultGroup", Kind: KindApplication, Name: "app-test", Sub: SubVersions}, true},
		{"/v4/scheduler/mesos/namespaces/defaultGroup/applications/app-test/deployments", Route{}, false},
		{"/v4/scheduler/mesos/namespaces/defaultGroup/configmaps/a/taskgroups", Route{}, false},
	} {
		got, ok := ParsePath(tc.path)
		if got != tc.want || ok != tc.ok {
			t.Errorf("ParsePath(%q) = %+v, %v; want %+v, %v", tc.path, got, ok, tc.want, tc.ok)
		}
	}
}

func TestDecode(t *testing.T) {
	var c ConfigMap
	if err := Decode([]byte(`{"kind":`), &c); err == nil || err.Code != CodeJSONDecode || err.Status != 400 {
		t.Errorf("truncated JSON: %v", err)
	}
	if err := Decode([]byte(`{"datas":[1]}`), &c); err == nil || err.Code != CodeJSONDecode {
		t.Errorf("wrong shape: %v", err)
	}
	if err := Decode([]byte(`{"kind":"configmap"}`), &c); err != nil || c.Kind != KindConfigMap {
		t.Errorf("good JSON: %v %+v", err, c)
	}
}
