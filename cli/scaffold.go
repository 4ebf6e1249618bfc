package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/spf13/cobra"

	"github.com/psmongo/psmongo/app"
	"github.com/psmongo/psmongo/mongoapply"
	"github.com/psmongo/psmongo/templates"
)

// scaffoldFlags holds the flags of "scaffold collection".
type scaffoldFlags struct {
	fields     string
	idType     string
	ownerField string
	put        string
	force      bool
	fromMongo  bool
	sample     int
	dir        string
}

func newScaffoldCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "scaffold",
		Short: "Write the files a team owns, to edit by hand",
		Args:  cobra.NoArgs,
	}
	cmd.AddCommand(newScaffoldCollectionCommand())
	return cmd
}

func newScaffoldCollectionCommand() *cobra.Command {
	var f scaffoldFlags
	cmd := &cobra.Command{
		Use:   "collection NAME",
		Short: "Write hooks/NAME.go, its test, and the collection's entry in config.yaml",
		Long: "Write the validation hook of collection NAME, with one check per field, its " +
			"test, and the collection's entry in config.yaml. Existing files are kept " +
			"unless --force is given. With --from-mongo, field types come from the " +
			"collection's $jsonSchema validator or else from a sample of its documents; " +
			"--fields adds to them or overrides them.",
		Example: "  psmongo scaffold collection todos " +
			"--fields completed:bool,created_at:date,tags:array\n" +
			"  psmongo scaffold collection todos --from-mongo --owner-field created_by",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runScaffold(cmd.Context(), cmd.OutOrStdout(), configFile(cmd), args[0], f)
		},
	}

	fl := cmd.Flags()
	fl.StringVar(&f.fields, "fields", "", "fields and their types, as name:type,name:type")
	fl.StringVar(&f.idType, "id-type", "", "the type of _id: string (default), objectid or uuid")
	fl.StringVar(&f.ownerField, "owner-field", "", "the field that holds the owner's user id")
	fl.StringVar(&f.put, "put", "", "how a PUT writes: replace (default) or merge")
	fl.BoolVar(&f.force, "force", false, "overwrite existing hook files")
	fl.BoolVar(&f.fromMongo, "from-mongo", false, "read field types from the configured MongoDB")
	fl.IntVar(&f.sample, "sample", 100, "with --from-mongo, how many documents to sample")
	fl.StringVar(&f.dir, "dir", ".", "the project directory, which holds hooks/")
	return cmd
}

// runScaffold writes the hook files, then the config entry, and prints both.
func runScaffold(ctx context.Context, w io.Writer, configPath, name string, f scaffoldFlags) error {
	if configPath == "" {
		configPath = filepath.Join(f.dir, app.DefaultConfigFile)
	}
	spec := templates.Spec{Name: name, IDType: f.idType, OwnerField: f.ownerField, Put: f.put}
	if err := templates.CheckName(name); err != nil {
		return err
	}

	fields, err := parseFields(f.fields)
	if err != nil {
		return err
	}
	spec.Fields = fields
	if f.fromMongo {
		if spec.Fields, err = fieldsFromMongo(ctx, w, configPath, name, f.sample, fields); err != nil {
			return err
		}
	}

	if err := writeHookFiles(w, f.dir, spec, f.force); err != nil {
		return err
	}
	return writeConfigEntry(w, configPath, spec)
}

// parseFields reads "name:type,name:type". A name may hold ":", as the type
// is after the last one.
func parseFields(s string) (map[string]string, error) {
	fields := make(map[string]string)
	if strings.TrimSpace(s) == "" {
		return fields, nil
	}

	for _, item := range strings.Split(s, ",") {
		i := strings.LastIndex(item, ":")
		if i < 0 {
			return nil, fmt.Errorf("--fields: %q is not name:type", strings.TrimSpace(item))
		}
		name, typ := strings.TrimSpace(item[:i]), strings.TrimSpace(item[i+1:])
		if _, dup := fields[name]; dup {
			return nil, fmt.Errorf("--fields: field %q is given twice", name)
		}
		fields[name] = typ
	}
	return fields, nil
}

// fieldsFromMongo reads the field types of the collection from the
// configured MongoDB, and lets the given fields override them.
func fieldsFromMongo(
	ctx context.Context, w io.Writer, configPath, name string, sample int, given map[string]string,
) (map[string]string, error) {
	if _, err := os.Stat(configPath); err != nil {
		configPath = "" // defaults and the environment only
	}
	cfg, err := app.LoadConfig(configPath)
	if err != nil {
		return nil, err
	}
	if name == cfg.MongoDB.DeadLetter {
		return nil, fmt.Errorf("collection %q keeps rejected writes", name)
	}

	store, err := app.OpenStore(ctx, cfg, app.NewLogger(cfg.Log, os.Stderr))
	if err != nil {
		return nil, err
	}
	defer store.Close(context.WithoutCancel(ctx))

	found, err := readMongoFields(ctx, w, store, name, sample)
	if err != nil {
		return nil, err
	}
	return mergeFields(w, found, given), nil
}

// readMongoFields reads the types from the collection's $jsonSchema
// validator, or else from a sample of its documents.
func readMongoFields(
	ctx context.Context, w io.Writer, store *app.Store, name string, sample int,
) (map[string]string, error) {
	validator, ok, err := mongoapply.CollectionValidator(ctx, store.DB, name)
	if err != nil {
		return nil, err
	}
	if ok {
		fields, err := mongoapply.FieldsFromValidator(validator)
		switch {
		case err == nil:
			fmt.Fprintf(w, "fields from the $jsonSchema validator of %s\n", name)
			return fields, nil
		case errors.Is(err, mongoapply.ErrUnmappedType):
			fmt.Fprintf(w, "fields from the $jsonSchema validator of %s; left out: %v\n", name, err)
			return fields, nil
		case !errors.Is(err, mongoapply.ErrNoJSONSchema):
			return nil, err
		}
	}

	fields, conflicts, err := mongoapply.InferFields(ctx, store.DB.Collection(name), sample)
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(w, "fields from a sample of up to %d documents of %s\n", sample, name)
	for _, c := range conflicts {
		printConflict(w, c)
	}
	if len(fields) == 0 {
		fmt.Fprintf(w, "  no typed fields found\n")
	}
	return fields, nil
}

func printConflict(w io.Writer, c mongoapply.FieldConflict) {
	seen := make([]string, len(c.Seen))
	for i, s := range c.Seen {
		seen[i] = fmt.Sprintf("%s %d", s.Type, s.Count)
	}
	outcome := "typed " + c.Chosen
	if c.Chosen == "" {
		outcome = "left out"
	}
	fmt.Fprintf(w, "  field %q seen as %s: %s\n", c.Field, strings.Join(seen, ", "), outcome)
}

// mergeFields returns found with the fields a hook cannot take left out,
// and given laid over it.
func mergeFields(w io.Writer, found, given map[string]string) map[string]string {
	fields := make(map[string]string)
	names := make([]string, 0, len(found))
	for name := range found {
		names = append(names, name)
	}
	sort.Strings(names)

	for _, name := range names {
		if err := templates.CheckFieldName(name); err != nil {
			fmt.Fprintf(w, "  field %q left out: %v\n", name, err)
			continue
		}
		fields[name] = found[name]
	}
	for name, typ := range given {
		fields[name] = typ
	}
	return fields
}

// writeHookFiles generates and writes the hook and its test.
func writeHookFiles(w io.Writer, dir string, spec templates.Spec, force bool) error {
	files, err := templates.Generate(spec)
	if err != nil {
		return err
	}

	err = templates.WriteFiles(dir, files, force)
	if errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("%w (use --force to overwrite)", err)
	}
	if err != nil {
		return err
	}
	for _, f := range files {
		fmt.Fprintf(w, "wrote %s\n", filepath.Join(dir, filepath.FromSlash(f.Path)))
	}
	return nil
}

// writeConfigEntry sets the collection's entry in the config file and
// prints it.
func writeConfigEntry(w io.Writer, path string, spec templates.Spec) error {
	replaced, err := templates.UpdateConfig(path, spec)
	if err != nil {
		return err
	}
	entry, err := templates.ConfigEntry(spec)
	if err != nil {
		return err
	}

	verb := "added"
	if replaced {
		verb = "replaced"
	}
	fmt.Fprintf(w, "%s: %s collections.%s:\n", path, verb, spec.Name)
	for _, line := range strings.SplitAfter(strings.TrimSuffix(string(entry), "\n"), "\n") {
		fmt.Fprintf(w, "  %s", line)
	}
	fmt.Fprintln(w)
	return nil
}
