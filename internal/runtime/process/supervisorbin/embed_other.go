//go:build !(linux && amd64)

package supervisorbin

// embedded is empty: the supervisor is built for linux/amd64 only.
var embedded []byte
