package keys

import (
	"cmp"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// LoadOrCreate returns the key for alg kept in dir, generating and saving it
// first when there is none, so that a restart keeps the same kid. created
// reports whether the key is new. Empty alg means [DefaultAlg].
//
// The directory is made with mode 0700 and the key file with 0600. When two
// processes start at once, both end up with the key that was saved first.
func LoadOrCreate(dir, alg string) (k *Key, created bool, err error) {
	alg = cmp.Or(alg, DefaultAlg)
	if err := checkGenerateAlg(alg); err != nil {
		return nil, false, fmt.Errorf("loading key: %w", err)
	}
	path := filepath.Join(dir, keyFileName(alg))

	k, err = readKeyFile(path)
	switch {
	case err == nil:
		return k, false, nil
	case !errors.Is(err, fs.ErrNotExist):
		return nil, false, fmt.Errorf("loading key: %w", err)
	}

	k, err = Generate(alg)
	if err != nil {
		return nil, false, err
	}
	return saveKeyFile(dir, path, k)
}

// keyFileName names the file that keeps the key for alg, one per algorithm
// so that switching algorithms back and forth keeps each kid.
func keyFileName(alg string) string {
	return "signing-key-" + strings.ToLower(alg) + ".json"
}

// readKeyFile parses the private JWK kept at path.
func readKeyFile(path string) (*Key, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}

	k, err := Parse(string(data), "")
	if err != nil {
		return nil, fmt.Errorf("reading key file %s: %w", path, err)
	}
	return k, nil
}

// saveKeyFile writes k to path, unless another process did first: then it
// returns that process's key. The file appears complete or not at all.
func saveKeyFile(dir, path string, k *Key) (*Key, bool, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, false, fmt.Errorf("saving key: %w", err)
	}
	if err := os.Chmod(dir, 0o700); err != nil {
		return nil, false, fmt.Errorf("saving key: %w", err)
	}

	tmp, err := writeTemp(dir, k)
	if err != nil {
		return nil, false, fmt.Errorf("saving key: %w", err)
	}
	defer os.Remove(tmp)

	// a link, unlike a rename, never replaces a key saved meanwhile
	err = os.Link(tmp, path)
	if errors.Is(err, fs.ErrExist) {
		existing, err := readKeyFile(path)
		if err != nil {
			return nil, false, fmt.Errorf("loading key: %w", err)
		}
		return existing, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("saving key: %w", err)
	}
	return k, true, nil
}

// writeTemp writes k as a private JWK to a new file in dir with mode 0600
// and returns its path.
func writeTemp(dir string, k *Key) (string, error) {
	data, err := k.privateJSON()
	if err != nil {
		return "", err
	}

	f, err := os.CreateTemp(dir, ".signing-key-*.tmp")
	if err != nil {
		return "", err
	}
	_, err = f.Write(append(data, '\n'))
	err = errors.Join(err, f.Sync(), f.Close())
	if err != nil {
		os.Remove(f.Name())
		return "", err
	}
	return f.Name(), nil
}
