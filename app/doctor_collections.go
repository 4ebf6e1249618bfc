package app

import (
	"errors"
	"fmt"

	"go.mongodb.org/mongo-driver/bson"

	"github.com/psmongo/psmongo/mongoapply"
)

// deadLetterIndexKey is the field doctor wants the dead-letter collection
// indexed on: reviews read the newest refused units first.
const deadLetterIndexKey = "received_at"

// judgeCollections checks each configured collection: that it can take
// writes, whether changeStreamPreAndPostImages is on, and, with schema:
// validators, its validator.
func judgeCollections(a *serverAnswers, cfg *Config, postImages string) []Check {
	if a.Collections.Err != nil {
		return []Check{{
			ID: "collections", Level: CheckFail,
			Message: "listing the collections of the database: " + oneLine(a.Collections.Err),
			Fix:     grantReadWriteFix,
		}}
	}

	var checks []Check
	for _, name := range sortedKeys(cfg.Collections) {
		info, found := findCollection(a.Collections.Docs, name)
		checks = append(checks, judgePostImages(name, info, found, postImages))
		if cfg.Collections[name].Schema == "validators" {
			checks = append(checks, judgeValidator(name, info, found))
		}
	}
	return checks
}

// findCollection returns the listCollections entry of name.
func findCollection(docs []bson.Raw, name string) (bson.Raw, bool) {
	for _, d := range docs {
		if lookupString(d, "name") == name {
			return d, true
		}
	}
	return nil, false
}

// judgePostImages checks changeStreamPreAndPostImages on a collection. The
// PowerSync Service's post_images read_only needs it on every collection its
// sync rules name, auto_configure turns it on itself (given collMod), and
// off does without (https://docs.powersync.com/configuration/source-db/setup,
// "Post Images").
func judgePostImages(name string, info bson.Raw, found bool, postImages string) Check {
	c := Check{ID: "collections." + name, Level: CheckOK}
	enable := fmt.Sprintf("db.runCommand({collMod: %q, changeStreamPreAndPostImages: {enabled: true}})", name)
	create := fmt.Sprintf("db.createCollection(%q, {changeStreamPreAndPostImages: {enabled: true}})", name)
	needed := "which the PowerSync Service needs when its post_images is read_only"

	enabled := lookupBool(info, "options", "changeStreamPreAndPostImages", "enabled")
	switch {
	case found && lookupString(info, "type") == "view":
		c.Level, c.Message = CheckFail, "is a view, and writes to a view fail"
		c.Fix = "configure the view's source collection instead"
	case enabled:
		c.Message = "changeStreamPreAndPostImages is enabled"
	case postImages == PostImagesOff:
		c.Message = "changeStreamPreAndPostImages is off, and post_images is off"
	case postImages == PostImagesAutoConfigure:
		c.Message = "changeStreamPreAndPostImages is off; the PowerSync Service's auto_configure " +
			"enables it, given the collMod action"
	case !found:
		c.Level = CheckWarn
		c.Message = "does not exist yet: the first write creates it without changeStreamPreAndPostImages, " + needed
		c.Fix = create
	case postImages == PostImagesReadOnly:
		c.Level = CheckFail
		c.Message = "changeStreamPreAndPostImages is off, and with post_images read_only the " +
			"PowerSync Service stops replicating with an error"
		c.Fix = enable
	default:
		c.Level = CheckWarn
		c.Message = "changeStreamPreAndPostImages is off, " + needed
		c.Fix = enable + ", or tell doctor the Service's mode with --post-images"
	}
	return c
}

// judgeValidator checks the $jsonSchema validator that schema: validators
// reads field types from, as serve does at start-up.
func judgeValidator(name string, info bson.Raw, found bool) Check {
	c := Check{ID: "collections." + name + ".schema", Level: CheckWarn}
	validator, ok := info.Lookup("options", "validator").DocumentOK()
	switch {
	case !found:
		c.Message = "schema is validators, but the collection does not exist: values keep their JSON types"
		c.Fix = "create it with its $jsonSchema validator, or list its fields in the config"
		return c
	case !ok || isEmpty(validator):
		c.Message = "schema is validators, but the collection has no validator: values keep their JSON types"
		c.Fix = "add a $jsonSchema validator (collMod), or list its fields in the config"
		return c
	}

	fields, err := mongoapply.FieldsFromValidator(validator)
	switch {
	case errors.Is(err, mongoapply.ErrUnmappedType):
		c.Message = fmt.Sprintf("%d field type(s) from the validator; some keep their JSON types: %s",
			len(fields), oneLine(err))
		c.Fix = "name those fields' types under fields in the config"
	case err != nil:
		c.Level, c.Message = CheckFail, "the validator cannot be read, so serve will not start: "+oneLine(err)
		c.Fix = "correct the $jsonSchema validator, or set schema: fields and list the fields"
	default:
		c.Level, c.Message = CheckOK, fmt.Sprintf("%d field type(s) from the $jsonSchema validator", len(fields))
	}
	return c
}

// judgeDeadLetter checks that the dead-letter collection can be read, and
// whether refused units wait in it.
func judgeDeadLetter(a *serverAnswers, name string) Check {
	c := Check{ID: "mongodb.dead_letter", Level: CheckOK}
	_, exists := findCollection(a.Collections.Docs, name)
	n, _ := a.DeadLetterCount.Doc.Lookup("n").AsInt64OK()
	switch {
	case a.DeadLetterCount.Err != nil:
		c.Level = CheckFail
		c.Message = fmt.Sprintf("reading %q: %s; a refused unit that cannot be stored keeps "+
			"the client's upload queue stuck", name, oneLine(a.DeadLetterCount.Err))
		c.Fix = grantReadWriteFix
	case !exists && a.Collections.Err == nil:
		c.Message = fmt.Sprintf("%q does not exist yet; the first refused unit creates it", name)
	case n > 0:
		c.Level = CheckWarn
		c.Message = fmt.Sprintf("%d refused unit(s) in %q await review", n, name)
		c.Fix = fmt.Sprintf("read them with db.getCollection(%q).find().sort({received_at: -1}), "+
			"correct the client or the hook, then delete them", name)
	default:
		c.Message = fmt.Sprintf("%q holds no refused units", name)
	}
	return c
}

// judgeDeadLetterIndex checks for an index that serves reviewing refused
// units, newest first or by user. serve creates one at start-up; without it
// each review scans the whole collection.
func judgeDeadLetterIndex(a *serverAnswers, name string) Check {
	c := Check{ID: "mongodb.dead_letter.index", Level: CheckWarn}
	fix := fmt.Sprintf("start psmongo serve once, which creates it, or run "+
		"db.getCollection(%q).createIndex({user_id: 1, %s: -1}, {name: %q})",
		name, deadLetterIndexKey, mongoapply.DeadLetterIndex)
	err := a.DeadLetterIndexes.Err
	// The server answers NamespaceNotFound for a missing collection; the
	// driver turns that into an empty listing, so ask listCollections too.
	_, exists := findCollection(a.Collections.Docs, name)
	switch {
	case isCode(err, codeNamespaceNotFound) || (err == nil && a.Collections.Err == nil && !exists):
		c.Message = fmt.Sprintf("%q does not exist yet, so it has no index on %s", name, deadLetterIndexKey)
		c.Fix = fix + " (this creates the collection too)"
		return c
	case err != nil:
		c.Message = fmt.Sprintf("listing the indexes of %q: %s", name, oneLine(err))
		c.Fix = grantReadWriteFix
		return c
	}

	for _, idx := range a.DeadLetterIndexes.Docs {
		keys, ok := idx.Lookup("key").DocumentOK()
		if !ok {
			continue
		}
		first, err := keys.IndexErr(0)
		if err == nil && (first.Key() == deadLetterIndexKey || first.Key() == "user_id") {
			c.Level = CheckOK
			c.Message = fmt.Sprintf("index %q starts with %s", lookupString(idx, "name"), first.Key())
			return c
		}
	}
	c.Message = fmt.Sprintf("no index on %s or user_id: reviewing refused units scans all of %q",
		deadLetterIndexKey, name)
	c.Fix = fix
	return c
}
