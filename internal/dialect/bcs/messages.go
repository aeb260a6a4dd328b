package bcs

import (
	"context"
)

// message sends a BCS message (signal, local or remote file) to every
// Running taskgroup of application bcsName, or to taskgroup id alone.
func (a apps) message(ctx context.Context, bcsName, taskGroupID string, body []byte) (any, *Error) {
	return nil, Errorf(CodeCommon, "messages are not implemented yet")
}
