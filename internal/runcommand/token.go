package runcommand

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"strings"
	"sync/atomic"

	"k8s.io/apiserver/pkg/authentication/authenticator"
	"k8s.io/apiserver/pkg/authentication/user"
	"k8s.io/client-go/tools/cache"

	"github.com/podyard/podyard/internal/apis/podyard/v1alpha1"
)

// tokenPrefix tells a command token from others without a lookup.
const tokenPrefix = "podyard-rc."

// NewToken returns a new command token and the hash a RunCommand records.
func NewToken() (token, hash string, err error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", "", fmt.Errorf("command token: %w", err)
	}
	token = tokenPrefix + base64.RawURLEncoding.EncodeToString(b)
	return token, HashToken(token), nil
}

// HashToken is what a RunCommand records of its token.
func HashToken(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

const hashIndex = "tokenHash"

// Tokens authenticates the bearer tokens of command pods: a token is
// valid, as the command's spec.user, while its command has not finished.
// It knows RunCommands from an informer that Start runs.
type Tokens struct {
	indexer atomic.Pointer[cache.Indexer]
}

// Start watches RunCommands through c until ctx ends.
func (t *Tokens) Start(ctx context.Context, c *Client) {
	inf := NewInformer(c, cache.Indexers{
		hashIndex: func(obj any) ([]string, error) {
			if h := obj.(*v1alpha1.RunCommand).Status.TokenHash; h != "" {
				return []string{h}, nil
			}
			return nil, nil
		},
	})
	go inf.RunWithContext(ctx)
	if cache.WaitForCacheSync(ctx.Done(), inf.HasSynced) {
		idx := inf.GetIndexer()
		t.indexer.Store(&idx)
	}
}

// AuthenticateToken implements authenticator.Token.
func (t *Tokens) AuthenticateToken(_ context.Context, token string) (*authenticator.Response, bool, error) {
	idx := t.indexer.Load()
	if !strings.HasPrefix(token, tokenPrefix) || idx == nil {
		return nil, false, nil
	}
	objs, err := (*idx).ByIndex(hashIndex, HashToken(token))
	if err != nil || len(objs) != 1 {
		return nil, false, nil
	}
	rc := objs[0].(*v1alpha1.RunCommand)
	if rc.Status.Finished() || rc.Spec.Canceled {
		return nil, false, nil
	}
	u := rc.Spec.User
	return &authenticator.Response{User: &user.DefaultInfo{Name: u.Username, UID: u.UID, Groups: u.Groups, Extra: u.Extra}}, true, nil
}
