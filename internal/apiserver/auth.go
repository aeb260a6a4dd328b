package apiserver

import (
	"fmt"

	"k8s.io/apiserver/pkg/authentication/authenticator"
	"k8s.io/apiserver/pkg/authentication/group"
	"k8s.io/apiserver/pkg/authentication/request/bearertoken"
	"k8s.io/apiserver/pkg/authentication/request/union"
	"k8s.io/apiserver/pkg/authentication/request/websocket"
	x509request "k8s.io/apiserver/pkg/authentication/request/x509"
	"k8s.io/apiserver/pkg/authentication/token/tokenfile"
	tokenunion "k8s.io/apiserver/pkg/authentication/token/union"
	"k8s.io/apiserver/pkg/authentication/user"
	"k8s.io/apiserver/pkg/authorization/authorizer"
	"k8s.io/apiserver/pkg/authorization/authorizerfactory"
	authzunion "k8s.io/apiserver/pkg/authorization/union"
	"k8s.io/apiserver/pkg/server/dynamiccertificates"
)

// newAuthenticator accepts client certificates signed by the cluster CA,
// bearer tokens from the static token file (also as a WebSocket
// subprotocol, which is how browsers and kubectl's WebSocket exec carry
// them) and the tokens of run-command pods. There is no anonymous
// authenticator: a request that proves nothing gets 401. It also returns
// the bearer-token part alone, for tokens that arrive in a request body.
func newAuthenticator(clientCA dynamiccertificates.CAContentProvider, tokensFile string, commandTokens authenticator.Token) (authenticator.Request, authenticator.Token, error) {
	static, err := tokenfile.NewCSV(tokensFile)
	if err != nil {
		return nil, nil, fmt.Errorf("authentication: token file: %w", err)
	}
	tokens := tokenunion.New(static, commandTokens)
	return group.NewAuthenticatedGroupAdder(union.New(
		x509request.NewDynamic(clientCA.VerifyOptions, x509request.CommonNameUserConversion),
		bearertoken.New(tokens),
		websocket.NewProtocolAuthenticator(tokens),
	)), tokens, nil
}

// newAuthorizer is the authorizer chain: system:masters may do anything,
// and for now so may every authenticated user. RBAC slots into this chain.
func newAuthorizer() (authorizer.Authorizer, authorizer.RuleResolver, error) {
	allow := authorizerfactory.NewAlwaysAllowAuthorizer()
	authz, err := authzunion.New(
		authzunion.NamedAuthorizer{AuthorizerName: "privileged-groups", Authorizer: authorizerfactory.NewPrivilegedGroups(user.SystemPrivilegedGroup)},
		authzunion.NamedAuthorizer{AuthorizerName: "authenticated", Authorizer: allow},
	)
	if err != nil {
		return nil, nil, fmt.Errorf("authorization: %w", err)
	}
	return authz, allow, nil
}
