package devstore_test

import (
	"context"
	"fmt"
	"log"
	"strings"

	"github.com/psmongo/psmongo/devstore"
)

// A package whose tests need a MongoDB wire-protocol server starts one store
// for all of them in TestMain and passes its URI to the tests. There,
// cleanup is called after m.Run and before os.Exit, which skips deferred
// calls.
func ExampleStartTemp() {
	s, cleanup, err := devstore.StartTemp(context.Background(), nil)
	if err != nil {
		log.Fatalf("starting the development store: %v", err)
	}
	defer cleanup()

	fmt.Println(strings.HasPrefix(s.URI(), "mongodb://127.0.0.1:"))
	// Output: true
}
