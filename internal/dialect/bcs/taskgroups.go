package bcs

import (
	"context"
	"strconv"
	"time"

	"github.com/podyard/podyard/internal/bcs/application"
)

// SubRescheduler is the route PUT .../applications/{name}/taskgroups/{id}/rescheduler.
const SubRescheduler = "rescheduler"

// ParseHostRetainTime reads ?hostRetainTime= (seconds; empty is 0). BCS
// read a bad value as 0; here it is refused.
func ParseHostRetainTime(s string) (int64, *Error) {
	if s == "" {
		return 0, nil
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 {
		return 0, Errorf(CodeBadParameters, "hostRetainTime %q is not a number of seconds", s)
	}
	return n, nil
}

// reschedule asks for taskgroup id of an application to be replaced: the
// application controller makes a new taskgroup at its index (new ID, the
// current definition, ReschededTimes one more, LastReschedTime now) on
// whichever node fits, or on the old node alone for hostRetainTime
// seconds, and then kills the old one. The request is kept on the
// taskgroup's Pod, so it survives a controller restart. An unknown
// application or taskgroup is 1405202.
func (a apps) reschedule(ctx context.Context, bcsName, id, hostRetainTime string) *Error {
	retain, err := ParseHostRetainTime(hostRetainTime)
	if err != nil {
		return err
	}
	app, err := a.get(ctx, bcsName)
	if err != nil {
		return err
	}
	pods, err := a.taskGroupPods(ctx, app)
	if err != nil {
		return err
	}
	for _, p := range pods {
		if p.Annotations[application.AnnotationTaskGroupID] == id && p.DeletionTimestamp == nil {
			req := application.Reschedule{At: time.Now().Unix(), HostRetainTime: retain}
			return a.annotate(ctx, p, application.AnnotationReschedule, req.String())
		}
	}
	return Errorf(CodeNotFound, "taskgroup %s of application %s.%s not exist", id, a.target.Namespace, bcsName)
}
