package config

import (
	"bytes"
	"flag"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// WriteYAML writes the effective configuration to w as a nested YAML
// configuration file: every flag with its value, keys sorted, secrets
// masked (see IsSecret and MarkSecret), each value followed by a comment
// saying where it came from (# flag, # env VIGIL_…, # file PATH:LINE,
// # default). The output is itself a valid configuration file.
func (e *Effective) WriteYAML(w io.Writer) error {
	head := []string{"Effective configuration of " + e.fs.Name() + "."}
	if e.file != "" {
		head = append(head, "Configuration file: "+e.file+" ("+e.sources[ConfigFlag].String()+").")
	}
	if len(e.secretEnv) > 0 {
		head = append(head, "Secrets set in the environment (not shown): "+strings.Join(e.secretEnv, ", ")+".")
	}
	if len(e.unknown) > 0 {
		head = append(head, "Ignored, no such setting: "+strings.Join(e.unknown, ", ")+".")
	}
	root := tree(e.fs, func(f *flag.Flag, key, val *yaml.Node) {
		if val.Kind == yaml.SequenceNode && len(val.Content) == 0 {
			val.LineComment = e.sources[f.Name].String() // yaml.v3 drops a key's comment before []
		} else {
			key.LineComment = e.sources[f.Name].String()
		}
	}, e.raw)
	return encode(w, strings.Join(head, "\n"), root)
}

// Example returns an example configuration file for the flags of fs: every
// flag with its default value, keys sorted, each preceded by its help text
// as a comment, under a comment of title's lines. Loading it sets every
// flag to its default. Call it on a FlagSet that has not been loaded.
func Example(fs *flag.FlagSet, title string) []byte {
	root := tree(fs, func(f *flag.Flag, key, val *yaml.Node) {
		key.HeadComment = wrap(f.Usage, 96)
	}, nil)
	var b bytes.Buffer
	if err := encode(&b, title, root); err != nil {
		panic(fmt.Sprintf("config: encoding an example: %v", err)) // only a yaml bug could cause this
	}
	return b.Bytes()
}

// encode writes root to w under a comment of head's lines.
func encode(w io.Writer, head string, root *yaml.Node) error {
	var b bytes.Buffer
	for _, l := range strings.Split(head, "\n") {
		b.WriteString(strings.TrimSpace("# "+l) + "\n")
	}
	b.WriteByte('\n')
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	if err := enc.Encode(root); err != nil {
		return fmt.Errorf("writing the configuration: %w", err)
	}
	if err := enc.Close(); err != nil {
		return fmt.Errorf("writing the configuration: %w", err)
	}
	if _, err := w.Write(spaceSections(b.Bytes())); err != nil {
		return fmt.Errorf("writing the configuration: %w", err)
	}
	return nil
}

// spaceSections puts an empty line before every top-level key of a YAML
// file, or before its comment, except the first, for reading.
func spaceSections(b []byte) []byte {
	var out bytes.Buffer
	prev := ""
	for i, l := range strings.SplitAfter(string(b), "\n") {
		if i > 0 && l != "" && l[0] != ' ' && !strings.HasPrefix(prev, "#") && prev != "\n" {
			out.WriteByte('\n')
		}
		out.WriteString(l)
		prev = l
	}
	return out.Bytes()
}

// tree builds the nested mapping of the flags of fs (except -config and
// -print-config), keys sorted; annotate adds comments to each leaf.
func tree(fs *flag.FlagSet, annotate func(f *flag.Flag, key, val *yaml.Node), raw map[string]string) *yaml.Node {
	root := &yaml.Node{Kind: yaml.MappingNode}
	sections := map[string]*yaml.Node{"": root}
	fs.VisitAll(func(f *flag.Flag) {
		if f.Name == ConfigFlag || f.Name == PrintConfigFlag {
			return
		}
		segs := strings.Split(f.Name, ".")
		parent := root
		for i := range segs[:len(segs)-1] {
			path := strings.Join(segs[:i+1], ".")
			m, ok := sections[path]
			if !ok {
				m = &yaml.Node{Kind: yaml.MappingNode}
				parent.Content = append(parent.Content, &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: segs[i]}, m)
				sections[path] = m
			}
			parent = m
		}
		key := &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: segs[len(segs)-1]}
		val := valueNode(fs, f, raw)
		annotate(f, key, val)
		parent.Content = append(parent.Content, key, val)
	})
	sortMapping(root)
	return root
}

// sortMapping sorts the keys of m and of the mappings in it.
func sortMapping(m *yaml.Node) {
	type pair struct{ k, v *yaml.Node }
	pairs := make([]pair, 0, len(m.Content)/2)
	for i := 0; i+1 < len(m.Content); i += 2 {
		pairs = append(pairs, pair{m.Content[i], m.Content[i+1]})
		if m.Content[i+1].Kind == yaml.MappingNode {
			sortMapping(m.Content[i+1])
		}
	}
	sort.SliceStable(pairs, func(i, j int) bool { return pairs[i].k.Value < pairs[j].k.Value })
	m.Content = m.Content[:0]
	for _, p := range pairs {
		m.Content = append(m.Content, p.k, p.v)
	}
}

// valueNode is the YAML value of f: a sequence for a StringList, a
// boolean or a number for flags of those types, else a string; secrets
// masked.
func valueNode(fs *flag.FlagSet, f *flag.Flag, raw map[string]string) *yaml.Node {
	v := redact(fs, f, value(f, raw))
	if l, ok := f.Value.(*StringList); ok && v != Mask {
		seq := &yaml.Node{Kind: yaml.SequenceNode}
		if len(*l) == 0 {
			seq.Style = yaml.FlowStyle
		}
		for _, s := range *l {
			seq.Content = append(seq.Content, &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: redact(fs, f, s)})
		}
		return seq
	}
	tag := "!!str"
	if v != Mask {
		// Booleans and numbers are written plain; the encoder quotes
		// strings that would read as something else.
		if isBool(f) {
			tag = ""
		} else if g, ok := f.Value.(flag.Getter); ok {
			switch d := g.Get().(type) {
			case int, int64, uint, uint64, float64:
				tag = ""
			case time.Duration:
				v = shortDuration(d)
			}
		}
	}
	return &yaml.Node{Kind: yaml.ScalarNode, Tag: tag, Value: v}
}

// shortDuration is d as time.Duration.String writes it, without zero
// trailing units: 720h rather than 720h0m0s, 1m rather than 1m0s.
func shortDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

// wrap breaks s into lines of at most width characters at spaces.
func wrap(s string, width int) string {
	var lines []string
	line := ""
	for _, w := range strings.Fields(s) {
		if line != "" && len(line)+1+len(w) > width {
			lines = append(lines, line)
			line = ""
		}
		if line != "" {
			line += " "
		}
		line += w
	}
	if line != "" {
		lines = append(lines, line)
	}
	return strings.Join(lines, "\n")
}
