// Command etcdserver is the real etcd server, built from its Go module at the
// version go.mod pins, so tests can run Podyard against an external etcd
// without a separately installed binary.
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() {
	etcdmain.Main(os.Args)
}
