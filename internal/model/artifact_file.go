package model

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// WriteFile writes m to path atomically: readers of path see the old file
// or the complete new one, never a part. It writes a temporary file in the
// same directory, syncs it, reads it back and verifies it (Load's checks
// and the checksum Save computed), then renames it over path with mode 0644
// and syncs the directory. A file that does not verify never replaces
// path. On an error path is left as it was and the temporary file is
// removed, except when only the final directory sync fails: then the new
// file is in place but may not survive a crash.
func WriteFile(path string, m *Model) (err error) {
	b, sum, err := marshal(m)
	if err != nil {
		return fmt.Errorf("write model %s: %w", path, err)
	}
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	f, err := os.CreateTemp(dir, "."+base+".tmp-*")
	if err != nil {
		return fmt.Errorf("write model: %w", err)
	}
	tmp := f.Name()
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(tmp)
			err = fmt.Errorf("write model %s: %w", path, err)
		}
	}()
	if _, err = f.Write(b); err != nil {
		return err
	}
	if err = f.Chmod(0o644); err != nil {
		return err
	}
	if err = f.Sync(); err != nil {
		return err
	}
	if err = f.Close(); err != nil {
		return err
	}
	back, err := os.ReadFile(tmp)
	if err != nil {
		return err
	}
	if _, got, lerr := unmarshal(back); lerr != nil {
		return fmt.Errorf("verify: %w", lerr)
	} else if got != sum {
		return fmt.Errorf("verify: checksum %x, wrote %x", got, sum)
	}
	if err = os.Rename(tmp, path); err != nil {
		return err
	}
	// The rename is durable once the directory is synced. Some platforms
	// cannot sync a directory; the file itself is already on disk.
	if d, derr := os.Open(dir); derr == nil {
		if serr := d.Sync(); serr != nil && !errors.Is(serr, os.ErrInvalid) {
			d.Close()
			return fmt.Errorf("sync directory: %w", serr)
		}
		d.Close()
	}
	return nil
}

// ReadFile loads the artifact at path; see Load for the errors. A missing
// file gives an error matching os.ErrNotExist.
func ReadFile(path string) (*Model, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("read model: %w", err)
	}
	defer f.Close()
	m, err := Load(f)
	if err != nil {
		return nil, fmt.Errorf("read model %s: %w", path, err)
	}
	return m, nil
}
