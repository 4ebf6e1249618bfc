package app

import (
	"errors"
	"fmt"
	"os"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/psmongo/psmongo/mongoapply"
)

// readCollections reads the collections section straight from the YAML
// file: viper lowercases map keys, and collection and field names are case
// sensitive.
func readCollections(file string) (map[string]CollectionConfig, error) {
	out := make(map[string]CollectionConfig)
	if file == "" {
		return out, nil
	}
	b, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("config %s: %w", file, err)
	}

	var doc struct {
		Collections map[string]*collectionYAML `yaml:"collections"`
	}
	if err := checkCollectionKeys(b); err != nil {
		return nil, err
	}
	if err := yaml.Unmarshal(b, &doc); err != nil {
		return nil, fmt.Errorf("config %s: collections: %v", file, yamlProblem(err))
	}
	for name, c := range doc.Collections {
		if c == nil {
			c = &collectionYAML{} // "lists:" with nothing under it
		}
		cc, err := c.config(name)
		if err != nil {
			return nil, err
		}
		out[name] = cc
	}
	return out, nil
}

// collectionKeys are the keys a collection entry may have.
var collectionKeys = map[string]bool{"id_type": true, "owner_field": true, "put": true, "schema": true, "fields": true}

// checkCollectionKeys refuses an unknown key in a collection entry.
func checkCollectionKeys(b []byte) error {
	var doc struct {
		Collections map[string]map[string]any `yaml:"collections"`
	}
	if err := yaml.Unmarshal(b, &doc); err != nil {
		return fmt.Errorf("config: collections: %v (each collection is a section of id_type, owner_field, put, schema, fields)", yamlProblem(err))
	}
	for _, name := range sortedKeys(doc.Collections) {
		for _, key := range sortedKeys(doc.Collections[name]) {
			if !collectionKeys[key] {
				return fmt.Errorf("config: collections.%s.%s: unknown key (want id_type, owner_field, put, schema or fields)", name, key)
			}
		}
	}
	return nil
}

// collectionYAML is one collection as written in the file.
type collectionYAML struct {
	IDType     string            `yaml:"id_type"`
	OwnerField string            `yaml:"owner_field"`
	Put        string            `yaml:"put"`
	Schema     string            `yaml:"schema"`
	Fields     map[string]string `yaml:"fields"`
}

// config validates the entry; an error names the key at fault.
func (c *collectionYAML) config(name string) (CollectionConfig, error) {
	key := "collections." + name
	fail := func(sub string, err error) (CollectionConfig, error) {
		return CollectionConfig{}, fmt.Errorf("config: %s%s: %v", key, sub, err)
	}

	if err := mongoapply.CheckCollectionName(name, ""); err != nil {
		return fail("", err)
	}
	var cc CollectionConfig
	var err error
	if cc.IDType, err = mongoapply.ParseIDType(c.IDType); err != nil {
		return fail(".id_type", err)
	}
	if cc.Put, err = mongoapply.ParsePutMode(c.Put); err != nil {
		return fail(".put", err)
	}
	if c.OwnerField != "" {
		if err := mongoapply.CheckFieldName(c.OwnerField); err != nil {
			return fail(".owner_field", err)
		}
	}
	cc.OwnerField = c.OwnerField

	switch c.Schema {
	case "", "fields":
		cc.Schema = "fields"
	case "validators":
		cc.Schema = c.Schema
	default:
		return fail(".schema", fmt.Errorf("%q is not fields or validators", c.Schema))
	}

	cc.Fields = make(map[string]mongoapply.FieldType, len(c.Fields))
	for _, field := range sortedKeys(c.Fields) {
		t := c.Fields[field]
		if err := mongoapply.CheckFieldName(field); err != nil {
			return fail(".fields."+field, err)
		}
		if cc.Fields[field], err = mongoapply.ParseFieldType(t); err != nil {
			return fail(".fields."+field, err)
		}
	}
	return cc, nil
}

// yamlProblem gives the first problem of a YAML error on one line; a
// *yaml.TypeError lists its problems on the lines after its first.
func yamlProblem(err error) string {
	var te *yaml.TypeError
	if errors.As(err, &te) && len(te.Errors) > 0 {
		return strings.TrimSpace(te.Errors[0])
	}
	return oneLine(err)
}
