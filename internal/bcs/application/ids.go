package application

import (
	"fmt"
	"strconv"
	"strings"
)

// TaskGroupID is a taskgroup's BCS ID, {index}.{app}.{ns}.{clusterNum}.{unixNano}
// (BCS names: app and ns as BCS clients know them).
func TaskGroupID(index int, app, namespace, cluster string, unixNano int64) string {
	return fmt.Sprintf("%d.%s.%s.%s.%d", index, app, namespace, cluster, unixNano)
}

// TaskGroupName is a taskgroup's BCS name, {app}-{index}.
func TaskGroupName(app string, index int) string { return fmt.Sprintf("%s-%d", app, index) }

// TaskID is the BCS ID of the task of container containerIndex,
// {unixNano}.{containerIndex}.{index}.{app}.{ns}.{clusterNum}: the
// taskgroup's stamp first.
func TaskID(tg TaskGroupRef, containerIndex int) string {
	return fmt.Sprintf("%d.%d.%d.%s.%s.%s", tg.UnixNano, containerIndex, tg.Index, tg.App, tg.Namespace, tg.Cluster)
}

// TaskName is a task's BCS name, {unixNano}-{taskID}.
func TaskName(tg TaskGroupRef, containerIndex int) string {
	return fmt.Sprintf("%d-%s", tg.UnixNano, TaskID(tg, containerIndex))
}

// TaskGroupRef is what a taskgroup ID says.
type TaskGroupRef struct {
	Index     int
	App       string
	Namespace string
	Cluster   string
	UnixNano  int64
}

// ID is the taskgroup ID.
func (r TaskGroupRef) ID() string {
	return TaskGroupID(r.Index, r.App, r.Namespace, r.Cluster, r.UnixNano)
}

// ParseTaskGroupID reads a taskgroup ID; BCS names hold no '.', so it
// splits into exactly five parts.
func ParseTaskGroupID(id string) (TaskGroupRef, error) {
	parts := strings.Split(id, ".")
	if len(parts) != 5 {
		return TaskGroupRef{}, fmt.Errorf("taskgroup id %q: want {index}.{app}.{namespace}.{cluster}.{unixNano}", id)
	}
	index, err := strconv.Atoi(parts[0])
	if err != nil || index < 0 {
		return TaskGroupRef{}, fmt.Errorf("taskgroup id %q: bad instance index %q", id, parts[0])
	}
	nano, err := strconv.ParseInt(parts[4], 10, 64)
	if err != nil || nano < 0 {
		return TaskGroupRef{}, fmt.Errorf("taskgroup id %q: bad timestamp %q", id, parts[4])
	}
	if parts[1] == "" || parts[2] == "" || parts[3] == "" {
		return TaskGroupRef{}, fmt.Errorf("taskgroup id %q: empty application, namespace or cluster", id)
	}
	return TaskGroupRef{Index: index, App: parts[1], Namespace: parts[2], Cluster: parts[3], UnixNano: nano}, nil
}
