package app

import (
	"context"
	"time"

	"go.mongodb.org/mongo-driver/bson"
	"go.mongodb.org/mongo-driver/mongo"
	"go.mongodb.org/mongo-driver/mongo/options"
)

// codeCommandNotFound is MongoDB's error code for a command it does not
// know, such as hello before 4.4.2.
const codeCommandNotFound = 59

// answer is a server's reply to one command: the reply document, or the
// error it gave instead.
type answer struct {
	Doc bson.Raw
	Err error
}

// listing is the documents a listing command's cursor returned, or the
// error it gave instead.
type listing struct {
	Docs []bson.Raw
	Err  error
}

// serverAnswers is what doctor asks the deployment, kept raw, so that the
// judging in doctor_judge.go needs no server and can be tested against
// recorded answers.
type serverAnswers struct {
	Hello             answer  // hello (isMaster on servers older than 4.4.2)
	BuildInfo         answer  // buildInfo
	Collections       listing // listCollections of the database, with options
	ChangeStream      answer  // opening a change stream on the database
	DeadLetterIndexes listing // listIndexes of the dead-letter collection
	DeadLetterCount   answer  // count of the dead-letter collection
}

// gather asks the deployment behind db what doctor judges, each call
// bounded by timeout. A failed call is kept as its answer's error.
//
// TODO(doctor): the user's write privileges are not checked, since doctor only
// reads; a user who may read but not insert shows up only when serve
// writes. Nor are the PowerSync Service's own user's privileges, which
// doctor cannot know.
func gather(ctx context.Context, db *mongo.Database, deadLetter string, timeout time.Duration) *serverAnswers {
	admin := db.Client().Database("admin")
	run := func(d *mongo.Database, cmd bson.D) answer {
		cctx, cancel := context.WithTimeout(ctx, timeout)
		defer cancel()
		raw, err := d.RunCommand(cctx, cmd).Raw()
		return answer{Doc: raw, Err: err}
	}

	a := &serverAnswers{
		Hello:     run(admin, bson.D{{Key: "hello", Value: 1}}),
		BuildInfo: run(admin, bson.D{{Key: "buildInfo", Value: 1}}),
	}
	if isCode(a.Hello.Err, codeCommandNotFound) {
		a.Hello = run(admin, bson.D{{Key: "isMaster", Value: 1}})
	}

	a.Collections = list(ctx, timeout, func(ctx context.Context) (*mongo.Cursor, error) {
		return db.ListCollections(ctx, bson.D{})
	})
	a.ChangeStream = openChangeStream(ctx, db, timeout)
	a.DeadLetterIndexes = list(ctx, timeout, func(ctx context.Context) (*mongo.Cursor, error) {
		return db.Collection(deadLetter).Indexes().List(ctx)
	})
	a.DeadLetterCount = run(db, bson.D{{Key: "count", Value: deadLetter}})
	return a
}

// list reads all of a listing's cursor within timeout.
func list(
	ctx context.Context, timeout time.Duration,
	open func(context.Context) (*mongo.Cursor, error),
) listing {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()

	cur, err := open(ctx)
	if err != nil {
		return listing{Err: err}
	}
	defer cur.Close(ctx)

	var docs []bson.Raw
	for cur.Next(ctx) {
		docs = append(docs, append(bson.Raw(nil), cur.Current...))
	}
	return listing{Docs: docs, Err: cur.Err()}
}

// openChangeStream opens a change stream on the database, as the PowerSync
// Service does, and closes it at once: only whether it opens matters.
func openChangeStream(ctx context.Context, db *mongo.Database, timeout time.Duration) answer {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()

	opts := options.ChangeStream().SetMaxAwaitTime(100 * time.Millisecond)
	cs, err := db.Watch(ctx, mongo.Pipeline{}, opts)
	if err != nil {
		return answer{Err: err}
	}
	return answer{Err: cs.Close(ctx)}
}
