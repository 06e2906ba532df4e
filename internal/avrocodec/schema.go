package avrocodec

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
)

// kind is an Avro type.
type kind uint8

const (
	kNull kind = iota
	kBoolean
	kInt
	kLong
	kFloat
	kDouble
	kBytes
	kString
	kRecord
	kEnum
	kArray
	kMap
	kUnion
	kFixed
)

var kindNames = [...]string{"null", "boolean", "int", "long", "float", "double", "bytes", "string", "record", "enum", "array", "map", "union", "fixed"}

func (k kind) String() string { return kindNames[k] }

// node is a parsed Avro schema: just what the binary walker and the
// projections need. goavro parses and validates the same text; this tree
// exists because goavro exposes none of its own.
type node struct {
	kind     kind
	name     string // full name of a record, enum or fixed
	logical  string // logicalType, if any
	fields   []field
	elem     *node   // array items, map values
	branches []*node // union
	symbols  []string
	size     int // fixed

	minSize   int // smallest encoding in bytes
	sizing    bool
	sizedOnce bool
}

type field struct {
	name string
	typ  *node
}

func (n *node) field(name string) (*node, bool) {
	for i := range n.fields {
		if n.fields[i].name == name {
			return n.fields[i].typ, true
		}
	}
	return nil, false
}

// parseSchema parses an Avro schema text. It is called only on texts goavro
// has already accepted, but checks what it relies on all the same.
func parseSchema(text string) (*node, error) {
	var v any
	if err := json.Unmarshal([]byte(text), &v); err != nil {
		return nil, fmt.Errorf("parse schema: %w", err)
	}
	p := schemaParser{names: map[string]*node{}}
	n, err := p.parse(v, "", 0)
	if err != nil {
		return nil, fmt.Errorf("parse schema: %w", err)
	}
	return n, nil
}

type schemaParser struct {
	names map[string]*node
}

const maxSchemaDepth = 64

var primitives = map[string]kind{
	"null": kNull, "boolean": kBoolean, "int": kInt, "long": kLong,
	"float": kFloat, "double": kDouble, "bytes": kBytes, "string": kString,
}

func (p *schemaParser) parse(v any, ns string, depth int) (*node, error) {
	if depth > maxSchemaDepth {
		return nil, errors.New("schema nested too deeply")
	}
	switch t := v.(type) {
	case string:
		return p.ref(t, ns)
	case []any:
		u := &node{kind: kUnion}
		for _, b := range t {
			bn, err := p.parse(b, ns, depth+1)
			if err != nil {
				return nil, err
			}
			u.branches = append(u.branches, bn)
		}
		if len(u.branches) == 0 {
			return nil, errors.New("empty union")
		}
		return u, nil
	case map[string]any:
		typ, ok := t["type"].(string)
		if !ok {
			// {"type": {...}} or {"type": [...]}: a wrapped schema.
			inner, present := t["type"]
			if !present {
				return nil, errors.New("schema object without type")
			}
			return p.parse(inner, ns, depth+1)
		}
		switch typ {
		case "record", "error":
			full, err := fullName(t, ns)
			if err != nil {
				return nil, err
			}
			n := &node{kind: kRecord, name: full}
			p.names[full] = n
			fs, ok := t["fields"].([]any)
			if !ok {
				return nil, fmt.Errorf("record %s: fields must be an array", full)
			}
			childNS := namespaceOf(full)
			for _, f := range fs {
				fm, ok := f.(map[string]any)
				if !ok {
					return nil, fmt.Errorf("record %s: field must be an object", full)
				}
				name, _ := fm["name"].(string)
				if name == "" {
					return nil, fmt.Errorf("record %s: field without name", full)
				}
				ft, err := p.parse(fm["type"], childNS, depth+1)
				if err != nil {
					return nil, fmt.Errorf("record %s field %s: %w", full, name, err)
				}
				n.fields = append(n.fields, field{name: name, typ: ft})
			}
			return n, nil
		case "enum":
			full, err := fullName(t, ns)
			if err != nil {
				return nil, err
			}
			n := &node{kind: kEnum, name: full}
			syms, _ := t["symbols"].([]any)
			for _, s := range syms {
				str, ok := s.(string)
				if !ok {
					return nil, fmt.Errorf("enum %s: symbol must be a string", full)
				}
				n.symbols = append(n.symbols, str)
			}
			if len(n.symbols) == 0 {
				return nil, fmt.Errorf("enum %s: no symbols", full)
			}
			p.names[full] = n
			return n, nil
		case "fixed":
			full, err := fullName(t, ns)
			if err != nil {
				return nil, err
			}
			size, ok := t["size"].(float64)
			if !ok || size < 0 || size > 1<<20 || size != float64(int(size)) {
				return nil, fmt.Errorf("fixed %s: bad size", full)
			}
			n := &node{kind: kFixed, name: full, size: int(size)}
			p.names[full] = n
			return n, nil
		case "array", "map":
			key := "items"
			k := kArray
			if typ == "map" {
				key, k = "values", kMap
			}
			elem, err := p.parse(t[key], ns, depth+1)
			if err != nil {
				return nil, err
			}
			return &node{kind: k, elem: elem}, nil
		default:
			n, err := p.ref(typ, ns)
			if err != nil {
				return nil, err
			}
			if lt, ok := t["logicalType"].(string); ok {
				if _, prim := primitives[typ]; prim {
					c := *n
					c.logical = lt
					return &c, nil
				}
			}
			return n, nil
		}
	default:
		return nil, fmt.Errorf("unexpected schema JSON %T", v)
	}
}

func (p *schemaParser) ref(name, ns string) (*node, error) {
	if k, ok := primitives[name]; ok {
		return &node{kind: k}, nil
	}
	if !strings.Contains(name, ".") && ns != "" {
		if n, ok := p.names[ns+"."+name]; ok {
			return n, nil
		}
	}
	if n, ok := p.names[name]; ok {
		return n, nil
	}
	return nil, fmt.Errorf("unknown type %q", name)
}

func fullName(t map[string]any, ns string) (string, error) {
	name, _ := t["name"].(string)
	if name == "" {
		return "", errors.New("named type without name")
	}
	if strings.Contains(name, ".") {
		return name, nil
	}
	if explicit, ok := t["namespace"].(string); ok {
		ns = explicit
	}
	if ns == "" {
		return name, nil
	}
	return ns + "." + name, nil
}

func namespaceOf(full string) string {
	if i := strings.LastIndexByte(full, '.'); i >= 0 {
		return full[:i]
	}
	return ""
}

// encodedMin returns the smallest number of bytes a value of n occupies.
// Block counts of arrays and maps are checked against it so that a forged
// count cannot make the decoder allocate or loop far beyond the payload.
func (n *node) encodedMin() int {
	if n.sizedOnce {
		return n.minSize
	}
	if n.sizing { // a record that contains itself without indirection
		return 0
	}
	n.sizing = true
	var s int
	switch n.kind {
	case kNull:
		s = 0
	case kFloat:
		s = 4
	case kDouble:
		s = 8
	case kFixed:
		s = n.size
	case kRecord:
		for _, f := range n.fields {
			s += f.typ.encodedMin()
		}
	default: // boolean, int, long, bytes, string, enum, array, map, union
		s = 1
	}
	n.sizing = false
	n.minSize, n.sizedOnce = s, true
	return s
}

// prepare computes encodedMin for every node, so that the tree is read-only
// (and safe to share between goroutines) afterwards.
func (n *node) prepare(seen map[*node]bool) {
	if seen[n] {
		return
	}
	seen[n] = true
	n.encodedMin()
	for _, f := range n.fields {
		f.typ.prepare(seen)
	}
	for _, b := range n.branches {
		b.prepare(seen)
	}
	if n.elem != nil {
		n.elem.prepare(seen)
	}
}
