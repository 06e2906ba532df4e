package detect

import (
	"errors"
	"flag"
	"fmt"
	"path"
	"strings"
	"sync"

	"github.com/vigil-stream/vigil/internal/model"
)

// Routing says which model scores which series: the first route that
// matches, in order (an exact series id, a glob pattern, or tags), else
// Default.
type Routing struct {
	// Default is the model for series no route matches; empty leaves them
	// without a model (their readings are dead-lettered as no_model).
	// Default "default".
	Default string `yaml:"default"`
	// Routes are tried in order.
	Routes []Route `yaml:"routes"`
}

// Route maps matching series to a model. Exactly one of Series, Pattern or
// Tags is set.
type Route struct {
	Series  string            `yaml:"series"`  // exact series id
	Pattern string            `yaml:"pattern"` // glob (path.Match: *, ?, [...])
	Tags    map[string]string `yaml:"tags"`    // every tag must have this value
	Model   string            `yaml:"model"`
}

// RegisterFlags registers the routing flags.
func (r *Routing) RegisterFlags(f *flag.FlagSet) {
	f.StringVar(&r.Default, "models.default", "default", "Model for series that no route matches; empty: such readings are dead-lettered.")
	f.Func("models.routes", "Routes from series to models, ';'-separated, tried in order: series:ID=>MODEL, glob:PATTERN=>MODEL, tag:KEY=VALUE[&KEY=VALUE]=>MODEL.", func(s string) error {
		routes, err := ParseRoutes(s)
		if err != nil {
			return err
		}
		r.Routes = routes
		return nil
	})
}

// ParseRoutes parses the -models.routes syntax.
func ParseRoutes(s string) ([]Route, error) {
	var out []Route
	for _, spec := range strings.Split(s, ";") {
		spec = strings.TrimSpace(spec)
		if spec == "" {
			continue
		}
		sel, name, ok := strings.Cut(spec, "=>")
		if !ok {
			return nil, fmt.Errorf("route %q: want SELECTOR=>MODEL", spec)
		}
		kind, arg, ok := strings.Cut(strings.TrimSpace(sel), ":")
		if !ok {
			return nil, fmt.Errorf("route %q: the selector needs a series, glob or tag prefix", spec)
		}
		r := Route{Model: strings.TrimSpace(name)}
		switch kind {
		case "series":
			r.Series = arg
		case "glob":
			r.Pattern = arg
		case "tag":
			r.Tags = map[string]string{}
			for _, kv := range strings.Split(arg, "&") {
				k, v, ok := strings.Cut(kv, "=")
				if !ok || k == "" {
					return nil, fmt.Errorf("route %q: tag selector %q needs KEY=VALUE", spec, kv)
				}
				r.Tags[k] = v
			}
		default:
			return nil, fmt.Errorf("route %q: unknown selector %q", spec, kind)
		}
		out = append(out, r)
	}
	return out, nil
}

// Validate checks the routes.
func (r *Routing) Validate() error {
	var errs []error
	for i, rt := range r.Routes {
		set := 0
		for _, b := range []bool{rt.Series != "", rt.Pattern != "", len(rt.Tags) > 0} {
			if b {
				set++
			}
		}
		if set != 1 {
			errs = append(errs, fmt.Errorf("route %d: exactly one of series, pattern or tags", i+1))
		}
		if rt.Model == "" {
			errs = append(errs, fmt.Errorf("route %d: no model", i+1))
		}
		if rt.Pattern != "" {
			if _, err := path.Match(rt.Pattern, ""); err != nil {
				errs = append(errs, fmt.Errorf("route %d: pattern %q: %w", i+1, rt.Pattern, err))
			}
		}
	}
	return errors.Join(errs...)
}

// Router resolves series to the models in service. It implements Models
// and is safe for concurrent use.
type Router struct {
	routing Routing
	exact   map[string]string
	byTags  bool
	models  func() map[string]*model.Model
	cache   sync.Map // series id → model name, when no tag route exists
}

var _ Models = (*Router)(nil)

// NewRouter returns a router over the models that snapshot returns (for
// example modelstore.Watcher.Snapshot).
func NewRouter(r Routing, snapshot func() map[string]*model.Model) (*Router, error) {
	if err := r.Validate(); err != nil {
		return nil, err
	}
	rt := &Router{routing: r, exact: map[string]string{}, models: snapshot}
	for _, x := range r.Routes {
		if x.Series != "" {
			if _, dup := rt.exact[x.Series]; !dup {
				rt.exact[x.Series] = x.Model
			}
		}
		if len(x.Tags) > 0 {
			rt.byTags = true
		}
	}
	return rt, nil
}

// Name returns the model name for a series.
func (rt *Router) Name(series string, tags map[string]string) string {
	if name, ok := rt.exact[series]; ok {
		return name
	}
	if !rt.byTags {
		if v, ok := rt.cache.Load(series); ok {
			return v.(string)
		}
	}
	name := rt.routing.Default
	for _, r := range rt.routing.Routes {
		if r.Pattern != "" {
			if ok, _ := path.Match(r.Pattern, series); ok {
				name = r.Model
				break
			}
		}
		if len(r.Tags) > 0 && tagsMatch(r.Tags, tags) {
			name = r.Model
			break
		}
	}
	if !rt.byTags {
		rt.cache.Store(series, name)
	}
	return name
}

// Model returns the model in service for a series, or nil.
func (rt *Router) Model(series string, tags map[string]string) *model.Model {
	return rt.models()[rt.Name(series, tags)]
}

func tagsMatch(want, got map[string]string) bool {
	for k, v := range want {
		if g, ok := got[k]; !ok || g != v {
			return false
		}
	}
	return true
}
