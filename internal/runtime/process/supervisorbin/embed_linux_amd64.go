//go:build linux && amd64

package supervisorbin

import _ "embed"

// embedded is podyard-supervisor.gz, written by ./gen.
//
//go:embed podyard-supervisor.gz
var embedded []byte
