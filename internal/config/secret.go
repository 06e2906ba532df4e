package config

import (
	"flag"
	"net/url"
	"strings"
	"sync"
)

// Mask replaces a secret wherever a configuration is shown.
const Mask = "******"

// secretWords are the last words of the names of secret flags: the part
// after the last '.' or '-' of "kafka.sasl.password" or "api-token".
// Names ending in "-file" ("kafka.sasl.password-file", "kafka.tls.key-file")
// are paths, not secrets, and are shown; the contents of such files are
// never read here.
var secretWords = []string{"password", "passphrase", "secret", "token"}

var (
	secretsMu sync.Mutex
	secrets   = map[*flag.FlagSet]map[string]bool{}
)

// MarkSecret marks the flag named name of fs as a secret whatever its name,
// so that -print-config masks it. Flags named by the rule of IsSecret need
// no marking.
func MarkSecret(fs *flag.FlagSet, name string) {
	secretsMu.Lock()
	defer secretsMu.Unlock()
	if secrets[fs] == nil {
		secrets[fs] = map[string]bool{}
	}
	secrets[fs][name] = true
}

func marked(fs *flag.FlagSet, name string) bool {
	secretsMu.Lock()
	defer secretsMu.Unlock()
	return secrets[fs][name]
}

// IsSecret reports whether a flag holds a secret by its name: the last
// word of the name, after its last '.' or '-', is password, passphrase,
// secret or token ("kafka.sasl.password", "admin.bearer-token"). Flags
// marked with MarkSecret are secrets too; Effective and Example check both.
func IsSecret(f *flag.Flag) bool {
	name := strings.ToLower(f.Name)
	if i := strings.LastIndexAny(name, ".-"); i >= 0 {
		name = name[i+1:]
	}
	for _, w := range secretWords {
		if name == w {
			return true
		}
	}
	return false
}

// redact returns v for showing: Mask for a non-empty secret, and otherwise
// v with the password of any URL in it (a comma-separated list of URLs
// too) masked, so that https://user:pass@registry shows as
// https://user:******@registry.
func redact(fs *flag.FlagSet, f *flag.Flag, v string) string {
	if IsSecret(f) || marked(fs, f.Name) {
		if v == "" {
			return ""
		}
		return Mask
	}
	if !strings.Contains(v, "@") {
		return v
	}
	parts := strings.Split(v, ",")
	for i, p := range parts {
		u, err := url.Parse(strings.TrimSpace(p))
		if err != nil || u.User == nil {
			continue
		}
		if _, has := u.User.Password(); has {
			u.User = url.UserPassword(u.User.Username(), Mask)
			parts[i] = strings.Replace(u.String(), strings.Repeat("%2A", len(Mask)), Mask, 1)
		}
	}
	return strings.Join(parts, ",")
}
