package app

import (
	"os"
	"testing"

	"github.com/psmongo/psmongo/devstore/devstoretest"
)

func TestMain(m *testing.M) {
	os.Exit(devstoretest.Main(m))
}
