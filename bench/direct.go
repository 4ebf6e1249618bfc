package bench

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"time"

	"go.mongodb.org/mongo-driver/mongo"
	"go.mongodb.org/mongo-driver/mongo/options"
	"go.mongodb.org/mongo-driver/mongo/readpref"
	"go.mongodb.org/mongo-driver/x/mongo/driver/connstring"
)

// defaultDatabase is psmongo's database when neither config nor URI names one.
const defaultDatabase = "powersync"

// runDirect writes ops like the run's, under new ids, straight to MongoDB:
// one ordered bulk write per batch, with the same concurrency.
func runDirect(ctx context.Context, opts Options) (Phase, error) {
	cs, err := connstring.ParseAndValidate(opts.Direct)
	if err != nil {
		return Phase{}, fmt.Errorf("direct MongoDB URI: %v", err)
	}
	name := opts.Database
	if name == "" {
		name = cs.Database
	}
	if name == "" {
		name = defaultDatabase
	}

	clientOpts := options.Client().ApplyURI(opts.Direct).
		SetMaxPoolSize(uint64(opts.Concurrency)).SetServerSelectionTimeout(10 * time.Second)
	if !opts.AllowRemote {
		// A replica set's members may name hosts that the URI does not:
		// talk to the one host given, which the loopback check saw.
		if len(cs.Hosts) != 1 {
			return Phase{}, fmt.Errorf("the direct MongoDB URI names %d hosts, and the driver would "+
				"also use the members they report: give one, or --allow-remote: %w", len(cs.Hosts), ErrRemote)
		}
		clientOpts.SetDirect(true)
	}
	client, err := mongo.Connect(ctx, clientOpts)
	if err != nil {
		return Phase{}, fmt.Errorf("connecting to MongoDB: %w", err)
	}
	defer client.Disconnect(context.WithoutCancel(ctx))
	if err := warmUpMongo(ctx, client, opts.Concurrency); err != nil {
		return Phase{}, fmt.Errorf("connecting to MongoDB: %w", err)
	}

	wl := newWorkload(rand.Uint32(), opts.Ops, opts.Batch, opts.Concurrency, opts.Mix)
	writes := make([][][]mongo.WriteModel, len(wl.batches))
	for w, batches := range wl.batches {
		for _, ops := range batches {
			writes[w] = append(writes[w], models(ops))
		}
	}

	coll := client.Database(name).Collection(opts.Collection)
	ordered := options.BulkWrite().SetOrdered(true)
	p := drive(ctx, wl.requests(), "direct", wl.ops, opts.Progress, func(ctx context.Context, w, j int) result {
		start := time.Now()
		_, err := coll.BulkWrite(ctx, writes[w][j], ordered)
		if err != nil {
			return result{took: time.Since(start), err: fmt.Errorf("bulk write: %w", err)}
		}
		return result{ops: len(writes[w][j]), took: time.Since(start)}
	})
	return p, ctx.Err()
}

// warmUpMongo opens a connection per worker before anything is timed.
func warmUpMongo(ctx context.Context, client *mongo.Client, workers int) error {
	errs := make([]error, workers)
	var wg sync.WaitGroup
	for i := range workers {
		wg.Go(func() { errs[i] = client.Ping(ctx, readpref.Primary()) })
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}
