package app

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"go.mongodb.org/mongo-driver/bson"
	"go.mongodb.org/mongo-driver/mongo"

	"github.com/psmongo/psmongo/mongoapply"
)

// MongoDB error codes that doctor tells apart.
const (
	codeUnauthorized       = 13
	codeNamespaceNotFound  = 26
	codeChangeStreamNoRepl = 40573 // $changeStream on a standalone mongod
)

// minMajorVersion is the oldest MongoDB the PowerSync Service replicates
// from: 6.0 (https://docs.powersync.com/configuration/source-db/setup,
// "Version compatibility").
const minMajorVersion = 6

// Fixes that several checks give.
const (
	replicaSetFix = "make it a replica set (one node will do): start mongod with --replSet rs0, " +
		"run rs.initiate() once, and add ?replicaSet=rs0 to mongodb.uri"
	developmentStoreFix = "point mongodb.uri (MONGO_URI) at a MongoDB 6.0+ replica set; " +
		"the embedded store is for development only"
	grantReadWriteFix = "give the user in mongodb.uri the readWrite role on the database"
)

// kind is what sort of deployment answered hello.
type kind int

const (
	kindUnknown    kind = iota // hello failed
	kindStandalone             // a mongod on its own
	kindReplicaSet             // the primary of a replica set
	kindSecondary              // a replica-set member that is not primary: a direct connection
	kindSharded                // a mongos in front of a sharded cluster
	kindFerretDB               // FerretDB, such as the embedded development store
)

// kind classifies the deployment from its hello and buildInfo answers.
func (a *serverAnswers) kind() kind {
	if a.Hello.Err != nil {
		return kindUnknown
	}
	if _, ok := a.ferretDB(); ok {
		return kindFerretDB
	}

	h := a.Hello.Doc
	switch {
	case lookupString(h, "msg") == "isdbgrid":
		return kindSharded
	case lookupString(h, "setName") == "":
		return kindStandalone
	case lookupBool(h, "isWritablePrimary") || lookupBool(h, "ismaster"):
		return kindReplicaSet
	default:
		return kindSecondary
	}
}

// ferretDB returns FerretDB's own version when FerretDB answered.
func (a *serverAnswers) ferretDB() (string, bool) {
	if a.BuildInfo.Err != nil {
		return "", false
	}
	v, err := a.BuildInfo.Doc.LookupErr("ferretdbVersion")
	if err != nil {
		return "", false
	}
	s, _ := v.StringValueOK()
	return s, true
}

// supportsTransactions reports whether serve writes units in transactions
// there, by the rule mongoapply.Probe applies: a replica set or a mongos.
func (k kind) supportsTransactions() bool {
	return k == kindReplicaSet || k == kindSecondary || k == kindSharded
}

// judgeDeployment judges the answers of a deployment doctor reached.
func judgeDeployment(a *serverAnswers, cfg *Config, postImages string) []Check {
	checks := []Check{
		judgeVersion(a),
		judgeReplicaSet(a),
		judgeChangeStream(a),
		judgeTransactions(a, cfg.MongoDB.Transactions),
	}
	checks = append(checks, judgeCollections(a, cfg, postImages)...)
	return append(checks, judgeDeadLetter(a, cfg.MongoDB.DeadLetter), judgeDeadLetterIndex(a, cfg.MongoDB.DeadLetter))
}

// judgeVersion checks for MongoDB 6.0 or newer (see minMajorVersion).
func judgeVersion(a *serverAnswers) Check {
	c := Check{ID: "mongodb.version", Level: CheckOK}
	upgrade := "use MongoDB 6.0 or newer"
	if a.BuildInfo.Err != nil {
		c.Level, c.Message, c.Fix = CheckWarn, "buildInfo failed: "+oneLine(a.BuildInfo.Err), upgrade
		return c
	}

	version := lookupString(a.BuildInfo.Doc, "version")
	if fv, ok := a.ferretDB(); ok {
		c.Level = CheckWarn
		if fv != "" && fv != "unknown" {
			fv = " " + fv
		} else {
			fv = "" // the embedded store does not know its FerretDB version
		}
		c.Message = fmt.Sprintf("FerretDB%s, which reports MongoDB %s: not MongoDB, "+
			"and not a source the PowerSync Service supports", fv, version)
		c.Fix = developmentStoreFix
		return c
	}

	major, ok := majorVersion(a.BuildInfo.Doc)
	switch {
	case !ok:
		c.Level, c.Message, c.Fix = CheckWarn, fmt.Sprintf("cannot read the version %q", version), upgrade
	case major < minMajorVersion:
		c.Level, c.Message = CheckFail, fmt.Sprintf("MongoDB %s; PowerSync needs 6.0 or newer", version)
		c.Fix = upgrade
	default:
		c.Message = "MongoDB " + version
	}
	return c
}

// majorVersion reads the major version from buildInfo's versionArray, or
// else from its version string.
func majorVersion(build bson.Raw) (int, bool) {
	if arr, ok := build.Lookup("versionArray").ArrayOK(); ok {
		if v, err := arr.IndexErr(0); err == nil {
			if n, ok := v.Value().AsInt64OK(); ok {
				return int(n), true
			}
		}
	}
	first, _, _ := strings.Cut(lookupString(build, "version"), ".")
	n, err := strconv.Atoi(first)
	return n, err == nil
}

// judgeReplicaSet checks that the deployment is a replica set reached
// through its primary. The PowerSync Service replicates through change
// streams, which need one, and its MongoDB module refuses a connection to a
// mongos (https://github.com/powersync-ja/powersync-service/pull/213
// proposes lifting that check).
func judgeReplicaSet(a *serverAnswers) Check {
	c := Check{ID: "mongodb.replica_set", Level: CheckFail}
	setName := lookupString(a.Hello.Doc, "setName")
	switch a.kind() {
	case kindUnknown:
		c.Message = "hello failed: " + oneLine(a.Hello.Err)
		c.Fix = "check that MongoDB answers the hello command; see its log"
	case kindFerretDB:
		c.Message = "FerretDB (the embedded store is one) is not a replica set: " +
			"it has no change streams for the PowerSync Service to replicate through"
		c.Fix = developmentStoreFix
	case kindStandalone:
		c.Message = "a standalone mongod: the PowerSync Service replicates through change streams, " +
			"which need a replica set"
		c.Fix = replicaSetFix
	case kindSharded:
		c.Message = "a mongos of a sharded cluster: the PowerSync Service replicates from a replica set"
		c.Fix = "use an unsharded replica set for the PowerSync app's database"
	case kindSecondary:
		c.Message = fmt.Sprintf("connected straight to a member of replica set %q that is not its primary, "+
			"so writes fail", setName)
		c.Fix = fmt.Sprintf("drop directConnection from mongodb.uri and add replicaSet=%s, "+
			"so that the driver finds the primary", setName)
	case kindReplicaSet:
		c.Level = CheckOK
		c.Message = fmt.Sprintf("replica set %q, primary %s", setName, lookupString(a.Hello.Doc, "primary"))
	}
	return c
}

// judgeChangeStream checks that a change stream opens on the database, as
// the PowerSync Service opens one there.
func judgeChangeStream(a *serverAnswers) Check {
	c := Check{ID: "mongodb.change_streams", Level: CheckFail}
	err := a.ChangeStream.Err
	switch {
	case err == nil:
		c.Level, c.Message = CheckOK, "a change stream on the database opens"
	case a.kind() == kindFerretDB:
		// FerretDB's own error reads like a malformed command; say what it means.
		c.Message = "FerretDB has no change streams, and refuses to open one"
		c.Fix = developmentStoreFix
	case a.kind() == kindStandalone || isCode(err, codeChangeStreamNoRepl):
		c.Message = "a standalone mongod has none: " + oneLine(err)
		c.Fix = replicaSetFix
	case isCode(err, codeUnauthorized):
		c.Message = "not authorized to open one: " + oneLine(err)
		c.Fix = "grant the changeStream and find actions on the database to the user in " +
			"mongodb.uri and to the PowerSync Service's user (the read role has both)"
	default:
		c.Message = "opening one on the database: " + oneLine(err)
		c.Fix = "see MongoDB's log; the PowerSync Service needs change streams on this database"
	}
	return c
}

// judgeTransactions says whether serve will write each unit in a
// transaction, from the deployment and mongodb.transactions.
func judgeTransactions(a *serverAnswers, mode mongoapply.TxMode) Check {
	c := Check{ID: "mongodb.transactions", Level: CheckWarn}
	supported := a.kind().supportsTransactions()
	switch {
	case supported && mode != mongoapply.TxNever:
		c.Level = CheckOK
		c.Message = fmt.Sprintf("used: each unit is written in one transaction (mongodb.transactions: %s)", mode)
	case supported:
		c.Message = "not used: mongodb.transactions is never, so a unit that MongoDB refuses " +
			"part-way stays partly written (and is kept as partial in the dead-letter collection)"
		c.Fix = "set mongodb.transactions to auto"
	case mode == mongoapply.TxAlways:
		c.Level = CheckFail
		c.Message = "mongodb.transactions is always, but the deployment has no transactions: serve will not start"
		c.Fix = "set mongodb.transactions to auto, or use a replica set"
	default:
		c.Message = "not used: the deployment is not a replica set, so a unit is written as ordered " +
			"bulk writes, which MongoDB may refuse part-way"
		c.Fix = "use a replica set, which PowerSync needs anyway"
	}
	return c
}

// isEmpty reports whether doc has no elements.
func isEmpty(doc bson.Raw) bool {
	elems, err := doc.Elements()
	return err != nil || len(elems) == 0
}

// isCode reports whether err is a server error with the given code.
func isCode(err error, code int) bool {
	var se mongo.ServerError
	return errors.As(err, &se) && se.HasErrorCode(code)
}

// lookupString returns the string at path in doc, or "".
func lookupString(doc bson.Raw, path ...string) string {
	if doc == nil {
		return ""
	}
	s, _ := doc.Lookup(path...).StringValueOK()
	return s
}

// lookupBool returns the boolean at path in doc, or false.
func lookupBool(doc bson.Raw, path ...string) bool {
	if doc == nil {
		return false
	}
	b, _ := doc.Lookup(path...).BooleanOK()
	return b
}
