package modelstore

import (
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/vigil-stream/vigil/internal/model"
)

// ErrNotFound is returned (wrapped) when a model name or version does not
// exist in the store, or no version is promoted.
var ErrNotFound = errors.New("model not found")

// currentFile names the file holding the promoted artifact's file name.
const currentFile = "CURRENT"

// Config locates the store.
type Config struct {
	// Dir is the store's directory. Default ./models.
	Dir string `yaml:"dir"`
	// Keep is how many versions of each model are kept; older ones are
	// deleted after a publish, never the promoted one. Default 5.
	Keep int `yaml:"keep"`
	// Topic optionally names a compacted Kafka topic keyed by model name:
	// the trainer publishes there too, and consumers follow it instead of
	// the directory. Default empty (the directory only).
	Topic string `yaml:"topic"`
}

// RegisterFlags registers the store flags.
func (c *Config) RegisterFlags(f *flag.FlagSet) {
	f.StringVar(&c.Dir, "models.dir", "models", "Model store directory: one folder per model name with its versions and a CURRENT file.")
	f.IntVar(&c.Keep, "models.keep", 5, "Versions of each model kept in the store (for rollback).")
	f.StringVar(&c.Topic, "models.topic", "", "Compacted Kafka topic of models (e.g. vigil.models): the trainer also publishes there and consumers follow it instead of -models.dir; empty: the directory only.")
}

// Validate checks the settings.
func (c *Config) Validate() error {
	if c.Dir == "" {
		return errors.New("models.dir is required")
	}
	if c.Keep < 1 {
		return errors.New("models.keep must be at least 1")
	}
	return nil
}

// Store is a model store directory. Its methods are safe for concurrent
// use by readers; publish and rollback of one name are expected from one
// trainer at a time (the nightly job runs with concurrencyPolicy Forbid).
type Store struct {
	dir  string
	keep int
}

// Open returns the store at cfg.Dir, creating the directory if needed.
func Open(cfg Config) (*Store, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(cfg.Dir, 0o755); err != nil {
		return nil, fmt.Errorf("model store: %w", err)
	}
	return &Store{dir: cfg.Dir, keep: cfg.Keep}, nil
}

// Dir returns the store's directory.
func (s *Store) Dir() string { return s.dir }

var validName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$`)

// ValidName reports whether name can name a model: letters, digits, '.',
// '_' and '-', not starting with a punctuation mark, at most 128 characters
// (it becomes a folder name and a Kafka key).
func ValidName(name string) bool { return validName.MatchString(name) }

// FileName returns the artifact file name of a version.
func FileName(name string, version int64) string {
	return fmt.Sprintf("%s-v%06d.vgm", name, version)
}

// parseVersion extracts the version of an artifact file name of name.
func parseVersion(name, file string) (int64, bool) {
	rest, ok := strings.CutPrefix(file, name+"-v")
	if !ok {
		return 0, false
	}
	rest, ok = strings.CutSuffix(rest, ".vgm")
	if !ok {
		return 0, false
	}
	v, err := strconv.ParseInt(rest, 10, 64)
	return v, err == nil && v > 0
}

// Names returns the model names in the store, sorted.
func (s *Store) Names() ([]string, error) {
	ents, err := os.ReadDir(s.dir)
	if err != nil {
		return nil, fmt.Errorf("model store: %w", err)
	}
	var names []string
	for _, e := range ents {
		if e.IsDir() && ValidName(e.Name()) {
			names = append(names, e.Name())
		}
	}
	return names, nil
}

// Versions returns the versions of name in the store, ascending.
func (s *Store) Versions(name string) ([]int64, error) {
	ents, err := os.ReadDir(filepath.Join(s.dir, name))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("model %q: %w", name, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("model store: %w", err)
	}
	var vs []int64
	for _, e := range ents {
		if v, ok := parseVersion(name, e.Name()); ok && e.Type().IsRegular() {
			vs = append(vs, v)
		}
	}
	slices.Sort(vs)
	return vs, nil
}

// CurrentVersion returns the promoted version of name.
func (s *Store) CurrentVersion(name string) (int64, error) {
	b, err := os.ReadFile(filepath.Join(s.dir, name, currentFile))
	if errors.Is(err, fs.ErrNotExist) {
		return 0, fmt.Errorf("model %q has no promoted version: %w", name, ErrNotFound)
	}
	if err != nil {
		return 0, fmt.Errorf("model store: %w", err)
	}
	file := strings.TrimSpace(string(b))
	v, ok := parseVersion(name, file)
	if !ok {
		return 0, fmt.Errorf("model %q: CURRENT names %q, not an artifact of this model", name, file)
	}
	return v, nil
}

// Current loads the promoted version of name.
func (s *Store) Current(name string) (*model.Model, error) {
	v, err := s.CurrentVersion(name)
	if err != nil {
		return nil, err
	}
	return s.Load(name, v)
}

// Load loads one version of name; the artifact's own name and version must
// match its file name.
func (s *Store) Load(name string, version int64) (*model.Model, error) {
	path := filepath.Join(s.dir, name, FileName(name, version))
	m, err := model.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("model %s v%d: %w", name, version, ErrNotFound)
	}
	if err != nil {
		return nil, err
	}
	if m.Name != name || m.Version != version {
		return nil, fmt.Errorf("%s holds %s, not %s v%d: %w", path, m, name, version, model.ErrCorrupt)
	}
	return m, nil
}

// NextVersion returns the version a new artifact of name should get: one
// more than the largest in the store, or 1.
func (s *Store) NextVersion(name string) (int64, error) {
	vs, err := s.Versions(name)
	if errors.Is(err, ErrNotFound) {
		return 1, nil
	}
	if err != nil {
		return 0, err
	}
	if len(vs) == 0 {
		return 1, nil
	}
	return vs[len(vs)-1] + 1, nil
}

// Publish writes m's artifact (atomically, verified after writing), promotes
// it, and deletes all but the newest Keep versions (never the promoted one).
// m.Version must be larger than every version in the store.
func (s *Store) Publish(m *model.Model) (string, error) {
	if !ValidName(m.Name) {
		return "", fmt.Errorf("publish: %q is not a valid model name", m.Name)
	}
	next, err := s.NextVersion(m.Name)
	if err != nil {
		return "", err
	}
	if m.Version < next {
		return "", fmt.Errorf("publish %s: version must be at least %d", m, next)
	}
	dir := filepath.Join(s.dir, m.Name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("publish %s: %w", m, err)
	}
	path := filepath.Join(dir, FileName(m.Name, m.Version))
	if err := model.WriteFile(path, m); err != nil {
		return "", fmt.Errorf("publish %s: %w", m, err)
	}
	if err := s.promote(m.Name, m.Version); err != nil {
		return "", err
	}
	return path, s.prune(m.Name)
}

// Rollback promotes version to of name again; to ≤ 0 means the newest
// version older than the promoted one. It returns the promoted version.
func (s *Store) Rollback(name string, to int64) (int64, error) {
	cur, err := s.CurrentVersion(name)
	if err != nil {
		return 0, err
	}
	vs, err := s.Versions(name)
	if err != nil {
		return 0, err
	}
	if to <= 0 {
		to = 0
		for _, v := range vs {
			if v < cur {
				to = v
			}
		}
		if to == 0 {
			return 0, fmt.Errorf("rollback %s: no version older than v%d is kept: %w", name, cur, ErrNotFound)
		}
	}
	// Verify before promoting: a rollback to a damaged file helps no one.
	if _, err := s.Load(name, to); err != nil {
		return 0, fmt.Errorf("rollback %s to v%d: %w", name, to, err)
	}
	return to, s.promote(name, to)
}

// promote points CURRENT at version, atomically.
func (s *Store) promote(name string, version int64) error {
	dir := filepath.Join(s.dir, name)
	tmp, err := os.CreateTemp(dir, ".CURRENT-*")
	if err != nil {
		return fmt.Errorf("promote %s v%d: %w", name, version, err)
	}
	defer os.Remove(tmp.Name())
	if _, err := fmt.Fprintln(tmp, FileName(name, version)); err != nil {
		tmp.Close()
		return fmt.Errorf("promote %s v%d: %w", name, version, err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("promote %s v%d: %w", name, version, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("promote %s v%d: %w", name, version, err)
	}
	if err := os.Rename(tmp.Name(), filepath.Join(dir, currentFile)); err != nil {
		return fmt.Errorf("promote %s v%d: %w", name, version, err)
	}
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		d.Close()
	}
	return nil
}

// prune deletes all but the newest Keep versions, sparing the promoted one.
func (s *Store) prune(name string) error {
	vs, err := s.Versions(name)
	if err != nil {
		return err
	}
	cur, err := s.CurrentVersion(name)
	if err != nil {
		return err
	}
	for i := 0; i < len(vs)-s.keep; i++ {
		if vs[i] == cur {
			continue
		}
		if err := os.Remove(filepath.Join(s.dir, name, FileName(name, vs[i]))); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("prune %s v%d: %w", name, vs[i], err)
		}
	}
	return nil
}
