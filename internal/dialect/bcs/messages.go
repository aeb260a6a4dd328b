package bcs

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	authorizationv1 "k8s.io/api/authorization/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/podyard/podyard/internal/bcs/application"
	"github.com/podyard/podyard/internal/nodeclient"
)

// The message types of POST .../message (msgtype), as the BCS driver
// names them.
const (
	MsgSignal = "signal"
	MsgLocal  = "local"
	MsgRemote = "remote"
	MsgEnv    = "env-key"
)

// Bounds of a message.
const (
	maxMessageFile     = nodeclient.MaxFileBytes // a local file's decoded content, a remote file
	remoteFetchTimeout = 30 * time.Second
	messageParallelism = 16 // taskgroups at a time
	defaultFileMode    = 0o644
)

// Message is a decoded BCS message.
type Message struct {
	Type string
	// signal
	Process string
	Signal  int
	// local and remote
	To   string
	User string
	Mode os.FileMode
	Data []byte // local: the decoded ctx; remote: filled once fetched
	URL  string // remote
}

// TaskGroupOpResult is one taskgroup a message did not reach (BCS's type,
// keys as its Go names).
type TaskGroupOpResult struct {
	ID     string
	Status string
	Err    string
}

// ParseMessage decodes the body of a message request: {"msgtype",
// "msgdata"} (the driver's other fields are ignored, as there). It
// answers BCS's codes: 1405010 for what does not decode, 1405233 for an
// unknown type, 1405007 for bad values; env-key is refused (1405231).
func ParseMessage(body []byte) (Message, *Error) {
	var req struct {
		Type string          `json:"msgtype"`
		Data json.RawMessage `json:"msgdata"`
	}
	if err := json.Unmarshal(body, &req); err != nil {
		return Message{}, Errorf(CodeJSONDecode, "json decode failed!%v", err)
	}
	m := Message{Type: req.Type}
	decode := func(v any) *Error {
		if len(req.Data) == 0 || string(req.Data) == "null" {
			return Errorf(CodeBadParameters, "msgdata is required for message type %s", req.Type)
		}
		if err := json.Unmarshal(req.Data, v); err != nil {
			return Errorf(CodeJSONDecode, "json decode failed!%v", err)
		}
		return nil
	}
	switch req.Type {
	case MsgSignal:
		var d struct {
			ProcessName string `json:"processname"`
			Signal      int    `json:"signal"`
		}
		if err := decode(&d); err != nil {
			return Message{}, err
		}
		if d.ProcessName == "" {
			return Message{}, Errorf(CodeBadParameters, "msgdata.processname is required: the name of the processes to signal")
		}
		if strings.ContainsAny(d.ProcessName, "/\x00") {
			return Message{}, Errorf(CodeBadParameters, "msgdata.processname %q: a process name has no '/'", d.ProcessName)
		}
		if d.Signal < 1 || d.Signal > 64 {
			return Message{}, Errorf(CodeBadParameters, "msgdata.signal %d: want a signal number from 1 to 64", d.Signal)
		}
		m.Process, m.Signal = d.ProcessName, d.Signal
	case MsgLocal, MsgRemote:
		var d struct {
			To     string `json:"to"`
			User   string `json:"user"`
			Right  string `json:"right"`
			Ctx    string `json:"ctx"`
			Remote string `json:"remote"`
		}
		if err := decode(&d); err != nil {
			return Message{}, err
		}
		if !path.IsAbs(d.To) || path.Clean(d.To) == "/" || strings.ContainsRune(d.To, 0) {
			return Message{}, Errorf(CodeBadParameters, "msgdata.to %q: want the absolute path of a file in the container", d.To)
		}
		mode, err := ParseRight(d.Right)
		if err != nil {
			return Message{}, Errorf(CodeBadParameters, "msgdata.right: %v", err)
		}
		m.To, m.User, m.Mode = path.Clean(d.To), d.User, mode
		if req.Type == MsgLocal {
			data, err := base64.StdEncoding.DecodeString(d.Ctx)
			if err != nil {
				return Message{}, Errorf(CodeBadParameters, "msgdata.ctx is not base64: %v", err)
			}
			if len(data) > maxMessageFile {
				return Message{}, Errorf(CodeBadParameters, "msgdata.ctx holds %d bytes, at most %d", len(data), maxMessageFile)
			}
			m.Data = data
			break
		}
		u, err := url.Parse(d.Remote)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return Message{}, Errorf(CodeBadParameters, "msgdata.remote %q: want an http or https URL", d.Remote)
		}
		m.URL = d.Remote
	case MsgEnv:
		// The original's executor refused ENV messages (the API answered
		// success and nothing happened); here the refusal is the answer.
		return Message{}, Errorf(CodeParameter, "message type env-key is not supported: a running container's environment cannot change (BCS executors refuse ENV messages too)")
	default:
		return Message{}, &Error{Status: http.StatusBadRequest, Code: CodeMessageType, Message: "unkown the message type"}
	}
	return m, nil
}

var octalRight = regexp.MustCompile(`^0?[0-7]{3,4}$`)

// ParseRight is a file's mode from BCS's right: empty is 0644; an octal
// mode ("644", "0755", "4755"); ls's nine letters ("rwxr-x---"); or a few
// of r, w and x ("rw", "r", "rwx"), which are the owner's, with group and
// others getting them without w (as a umask of 022 would: "rw" → 0644,
// "rwx" → 0755, "r" → 0444).
func ParseRight(s string) (os.FileMode, error) {
	switch {
	case s == "":
		return defaultFileMode, nil
	case octalRight.MatchString(s):
		n, _ := strconv.ParseUint(s, 8, 32)
		mode := os.FileMode(n & 0o777)
		if n&0o4000 != 0 {
			mode |= os.ModeSetuid
		}
		if n&0o2000 != 0 {
			mode |= os.ModeSetgid
		}
		if n&0o1000 != 0 {
			mode |= os.ModeSticky
		}
		return mode, nil
	case len(s) == 9:
		var mode os.FileMode
		for i, c := range s {
			want := "rwx"[i%3]
			switch {
			case byte(c) == want:
				mode |= 1 << (8 - i)
			case c != '-':
				return 0, fmt.Errorf("%q: want an octal mode, rwxr-xr-x or a few of r, w and x", s)
			}
		}
		return mode, nil
	case len(s) <= 3:
		var owner os.FileMode
		for _, c := range s {
			var bit os.FileMode
			switch c {
			case 'r':
				bit = 4
			case 'w':
				bit = 2
			case 'x':
				bit = 1
			default:
				return 0, fmt.Errorf("%q: want an octal mode, rwxr-xr-x or a few of r, w and x", s)
			}
			if owner&bit != 0 {
				return 0, fmt.Errorf("%q: %c twice", s, c)
			}
			owner |= bit
		}
		other := owner &^ 2
		return owner<<6 | other<<3 | other, nil
	}
	return 0, fmt.Errorf("%q: want an octal mode, rwxr-xr-x or a few of r, w and x", s)
}

// MessageTargets splits an application's taskgroup Pods into those a
// message goes to (Running) and the failures of the others, which BCS
// lists as `taskgroup <id> must be running`.
func MessageTargets(pods []*corev1.Pod) (running []*corev1.Pod, failures []*TaskGroupOpResult) {
	for _, p := range pods {
		id := p.Annotations[application.AnnotationTaskGroupID]
		if st := application.TaskGroupState(p); st.Status != application.TaskRunning {
			failures = append(failures, &TaskGroupOpResult{ID: id, Status: st.Status, Err: fmt.Sprintf("taskgroup %s must be running", id)})
			continue
		}
		running = append(running, p)
	}
	return running, failures
}

// SignalOutcome is what signalling one taskgroup did: the processes that
// got it in each task, and the tasks that could not be reached. nil: it
// got it.
func SignalOutcome(taskGroupID, process string, signaled int, errs []error) error {
	if len(errs) > 0 {
		return errors.Join(errs...)
	}
	if signaled == 0 {
		// killall in the original exited 1 unseen; here it is reported.
		return fmt.Errorf("no process named %s in any task of taskgroup %s", process, taskGroupID)
	}
	return nil
}

// sortFailures orders a failure list by taskgroup ID; none is nil (data null).
func sortFailures(f []*TaskGroupOpResult) []*TaskGroupOpResult {
	if len(f) == 0 {
		return nil
	}
	sort.Slice(f, func(i, j int) bool { return f[i].ID < f[j].ID })
	return f
}

// message sends a BCS message (signal, local or remote file) to every
// Running taskgroup of application bcsName, or to taskgroup id alone,
// through the agents of their nodes: a signal to the processes of that
// name in every task, a file to every task. The answer is null when every
// taskgroup got it, else (still a success, as in BCS) the list of those
// that did not and why. The agent calls are the API server's own, so the
// caller must be allowed to exec in the namespace (create pods/exec).
func (a apps) message(ctx context.Context, bcsName, taskGroupID string, body []byte) (any, *Error) {
	m, err := ParseMessage(body)
	if err != nil {
		return nil, err
	}
	app, err := a.get(ctx, bcsName)
	if err != nil {
		return nil, err
	}
	pods, err := a.taskGroupPods(ctx, app)
	if err != nil {
		return nil, err
	}
	if taskGroupID != "" {
		var one []*corev1.Pod
		for _, p := range pods {
			if p.Annotations[application.AnnotationTaskGroupID] == taskGroupID {
				one = append(one, p)
			}
		}
		if len(one) == 0 {
			return nil, Errorf(CodeNotFound, "no taskgroup(%s) in application(%s.%s)", taskGroupID, a.target.Namespace, bcsName)
		}
		pods = one
	} else if len(pods) == 0 {
		return nil, &Error{Status: http.StatusConflict, Code: CodeCommon, Message: "empty taskgroups"}
	}
	if err := a.mayExec(ctx, "messages run in the application's containers"); err != nil {
		return nil, err
	}
	targets, failures := MessageTargets(pods)
	if len(targets) > 0 && a.agents == nil {
		return nil, internalError(errors.New("messages need the node agents, which this server does not reach"))
	}
	if len(targets) > 0 && m.Type == MsgRemote {
		data, ferr := fetchRemote(ctx, m.URL)
		if ferr != nil {
			return nil, &Error{Status: http.StatusBadGateway, Code: CodeCommon, Message: ferr.Error()}
		}
		m.Data = data
	}
	var (
		mu  sync.Mutex
		wg  sync.WaitGroup
		sem = make(chan struct{}, messageParallelism)
	)
	for _, p := range targets {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			if err := a.deliver(ctx, p, m); err != nil {
				id := p.Annotations[application.AnnotationTaskGroupID]
				mu.Lock()
				failures = append(failures, &TaskGroupOpResult{ID: id, Status: application.TaskRunning, Err: err.Error()})
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if f := sortFailures(failures); f != nil {
		return f, nil
	}
	return nil, nil
}

// deliver sends m to every task (container) of one taskgroup.
func (a apps) deliver(ctx context.Context, p *corev1.Pod, m Message) error {
	id := p.Annotations[application.AnnotationTaskGroupID]
	var errs []error
	signaled := 0
	for _, c := range p.Spec.Containers {
		switch m.Type {
		case MsgSignal:
			n, err := a.agents.Signal(ctx, p, c.Name, m.Process, m.Signal)
			if err != nil {
				errs = append(errs, fmt.Errorf("task %s: %w", c.Name, err))
			}
			signaled += n
		default:
			if err := a.agents.WriteFile(ctx, p, c.Name, m.To, m.Data, m.Mode, m.User); err != nil {
				errs = append(errs, fmt.Errorf("task %s: %w", c.Name, err))
			}
		}
	}
	if m.Type == MsgSignal {
		return SignalOutcome(id, m.Process, signaled, errs)
	}
	return errors.Join(errs...)
}

// mayExec asks the server whether the caller may create pods/exec in the
// namespace: messages and commands (what) run in containers as an exec
// would, but through the server's own connection to the agents.
func (a apps) mayExec(ctx context.Context, what string) *Error {
	review, err := a.kube.AuthorizationV1().SelfSubjectAccessReviews().Create(ctx, &authorizationv1.SelfSubjectAccessReview{
		Spec: authorizationv1.SelfSubjectAccessReviewSpec{ResourceAttributes: &authorizationv1.ResourceAttributes{
			Namespace: a.target.KubeNamespace, Verb: "create", Resource: "pods", Subresource: "exec",
		}},
	}, metav1.CreateOptions{})
	if err != nil {
		return fromAPIError(err, "access review")
	}
	if !review.Status.Allowed {
		return &Error{Status: http.StatusForbidden, Code: CodeCommon, Message: fmt.Sprintf(
			"%s: the caller may not create pods/exec in namespace %s", what, a.target.KubeNamespace)}
	}
	return nil
}

// fetchRemote reads a remote message's file from the server (http or
// https, at most maxMessageFile bytes, remoteFetchTimeout).
func fetchRemote(ctx context.Context, rawURL string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, remoteFetchTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, rawURL, nil)
	if err != nil {
		return nil, fmt.Errorf("fetch %s: %w", rawURL, err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("fetch %s: %w", rawURL, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("fetch %s: HTTP %s", rawURL, resp.Status)
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxMessageFile+1))
	if err != nil {
		return nil, fmt.Errorf("fetch %s: %w", rawURL, err)
	}
	if len(data) > maxMessageFile {
		return nil, fmt.Errorf("fetch %s: larger than %d bytes", rawURL, maxMessageFile)
	}
	return data, nil
}
