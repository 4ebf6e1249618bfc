// Command psmongo is a self-hosted backend for PowerSync apps on MongoDB.
package main

import (
	"os"

	"github.com/psmongo/psmongo/cli"
)

func main() {
	os.Exit(cli.Main())
}
