package deploytest

import (
	"encoding/json"
	"io/fs"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"gopkg.in/yaml.v3"
)

// sourceMetric is a metric Vigil's Go source registers.
type sourceMetric struct {
	Labels    []string
	Histogram bool
}

var source struct {
	once    sync.Once
	metrics map[string]sourceMetric
	strings map[string]bool // every string literal of the source
	text    string          // cmd/consumer's source
	err     error
}

var (
	metricDef  = regexp.MustCompile(`New(Counter|Gauge|Histogram|Summary)(Vec)?\(prometheus\.\w+Opts\{\s*Name:\s*"(vigil_\w+)"[^}]*\}(?:\s*,\s*\[\]string\{([^}]*)\})?`)
	goString   = regexp.MustCompile(`"((?:[^"\\\n]|\\.)*)"`)
	quotedWord = regexp.MustCompile(`"([^"]*)"`)
)

// goSource reads the non-test Go source of internal/ and cmd/: every
// Prometheus metric it defines with its labels, every string literal (label
// values, HTTP routes), and the consumer's main package.
func goSource(t *testing.T) (map[string]sourceMetric, map[string]bool, string) {
	t.Helper()
	source.once.Do(func() {
		source.metrics, source.strings = map[string]sourceMetric{}, map[string]bool{}
		for _, dir := range []string{"internal", "cmd"} {
			source.err = filepath.WalkDir(filepath.Join(repoRoot(), dir), func(p string, d fs.DirEntry, err error) error {
				if err != nil || d.IsDir() || !strings.HasSuffix(p, ".go") || strings.HasSuffix(p, "_test.go") {
					return err
				}
				b, err := os.ReadFile(p)
				if err != nil {
					return err
				}
				for _, m := range metricDef.FindAllSubmatch(b, -1) {
					sm := sourceMetric{Histogram: string(m[1]) == "Histogram" || string(m[1]) == "Summary"}
					if len(m[2]) > 0 {
						for _, q := range quotedWord.FindAllSubmatch(m[4], -1) {
							sm.Labels = append(sm.Labels, string(q[1]))
						}
					}
					source.metrics[string(m[3])] = sm
				}
				for _, s := range goString.FindAllSubmatch(b, -1) {
					source.strings[string(s[1])] = true
				}
				if strings.Contains(filepath.ToSlash(p), "cmd/consumer/") {
					source.text += string(b)
				}
				return nil
			})
			if source.err != nil {
				return
			}
		}
	})
	if source.err != nil {
		t.Fatal(source.err)
	}
	if len(source.metrics) == 0 {
		t.Fatal("no vigil_ metrics found in the Go source")
	}
	return source.metrics, source.strings, source.text
}

func TestSourceMetrics(t *testing.T) {
	metrics, _, _ := goSource(t)
	for name, want := range map[string]sourceMetric{
		"vigil_events_total":       {Labels: []string{"kind"}},
		"vigil_consumer_lag":       {Labels: []string{"topic", "partition"}},
		"vigil_end_to_end_seconds": {Histogram: true},
		"vigil_live_series":        {},
	} {
		got, ok := metrics[name]
		if !ok {
			t.Errorf("%s not found", name)
			continue
		}
		if got.Histogram != want.Histogram || !slices.Equal(got.Labels, want.Labels) {
			t.Errorf("%s: read %+v, want %+v", name, got, want)
		}
	}
}

var (
	promString   = regexp.MustCompile(`"(?:[^"\\]|\\.)*"`)
	promMetric   = regexp.MustCompile(`\b((?:vigil|go|process)_[a-z0-9_]+|up)\b`)
	promSelector = regexp.MustCompile(`\b([a-zA-Z_:][a-zA-Z0-9_:]*)\{([^}]*)\}`)
	promMatcher  = regexp.MustCompile(`([a-zA-Z_]\w*)\s*(=~|!~|!=|=)\s*"([^"]*)"`)
	promGrouping = regexp.MustCompile(`\b(?:by|without)\s*\(([^)]*)\)`)
	targetLabels = []string{"instance", "job"}
)

// checkExpr checks a PromQL expression against the source: every vigil_
// metric exists (histograms with their _bucket, _sum and _count series),
// go_ and process_ metrics come from collectors the consumer registers,
// every label it groups or matches by is one of its metrics' labels, and
// every exact label value it matches is a string of the source.
func checkExpr(t *testing.T, where, expr string, jobs []string) {
	t.Helper()
	metrics, strs, consumerSrc := goSource(t)
	labels := append([]string(nil), targetLabels...)
	bare := promString.ReplaceAllString(expr, `""`)
	names := promMetric.FindAllString(bare, -1)
	if len(names) == 0 {
		t.Errorf("%s: %q uses no metric", where, expr)
	}
	for _, n := range names {
		switch {
		case n == "up":
		case strings.HasPrefix(n, "go_"):
			if !strings.Contains(consumerSrc, "collectors.NewGoCollector") {
				t.Errorf("%s: %s: the consumer registers no Go collector", where, n)
			}
		case strings.HasPrefix(n, "process_"):
			if !strings.Contains(consumerSrc, "collectors.NewProcessCollector") {
				t.Errorf("%s: %s: the consumer registers no process collector", where, n)
			}
		default:
			m, ok := metrics[n]
			if !ok {
				base := regexp.MustCompile(`_(bucket|sum|count)$`).ReplaceAllString(n, "")
				if m, ok = metrics[base]; !ok || !m.Histogram {
					t.Errorf("%s: metric %s is not defined in the Go source (renamed?)", where, n)
					continue
				}
				if strings.HasSuffix(n, "_bucket") {
					labels = append(labels, "le")
				}
			}
			labels = append(labels, m.Labels...)
		}
	}
	for _, g := range promGrouping.FindAllStringSubmatch(expr, -1) {
		for _, l := range strings.Split(g[1], ",") {
			if l = strings.TrimSpace(l); l != "" && !slices.Contains(labels, l) {
				t.Errorf("%s: %q groups by %q, a label none of its metrics has (%v)", where, expr, l, labels)
			}
		}
	}
	for _, s := range promSelector.FindAllStringSubmatch(expr, -1) {
		for _, mm := range promMatcher.FindAllStringSubmatch(s[2], -1) {
			label, op, value := mm[1], mm[2], mm[3]
			switch {
			case label == "job":
				if op == "=" && !slices.Contains(jobs, value) {
					t.Errorf("%s: job=%q is not a scrape job of prometheus.yml (%v)", where, value, jobs)
				}
			case !slices.Contains(labels, label):
				t.Errorf("%s: %s matches label %q, which %s does not have", where, s[0], label, s[1])
			case op == "=" && !strings.HasPrefix(value, "$") && !strs[value] && label != "instance":
				t.Errorf("%s: %s: the value %q never appears in the Go source", where, s[0], value)
			}
		}
	}
}

type promConfig struct {
	RuleFiles     []string `yaml:"rule_files"`
	ScrapeConfigs []struct {
		JobName       string `yaml:"job_name"`
		MetricsPath   string `yaml:"metrics_path"`
		StaticConfigs []struct {
			Targets []string
		} `yaml:"static_configs"`
	} `yaml:"scrape_configs"`
}

func loadPrometheus(t *testing.T) (promConfig, []string) {
	t.Helper()
	var pc promConfig
	if err := yaml.Unmarshal(readRepoFile(t, "deploy/prometheus/prometheus.yml"), &pc); err != nil {
		t.Fatalf("prometheus.yml: %v", err)
	}
	var jobs []string
	for _, sc := range pc.ScrapeConfigs {
		jobs = append(jobs, sc.JobName)
	}
	return pc, jobs
}

func TestPrometheusScrapesConsumer(t *testing.T) {
	flags := realFlags(t)
	c := loadCompose(t)
	consumer := composeWorkloads(t, c)["consumer"]
	want := "consumer:" + strconv.Itoa(port(t, consumer.value(t, flags, "admin.addr")))
	pc, _ := loadPrometheus(t)
	found := false
	for _, sc := range pc.ScrapeConfigs {
		for _, st := range sc.StaticConfigs {
			if slices.Contains(st.Targets, want) {
				found = true
				if sc.MetricsPath != "" && sc.MetricsPath != "/metrics" {
					t.Errorf("job %s: metrics_path %s, the consumer serves /metrics", sc.JobName, sc.MetricsPath)
				}
			}
		}
	}
	if !found {
		t.Errorf("no scrape job targets %s (the consumer service and its -admin.addr port)", want)
	}
	p := c.Services["prometheus"]
	if !slices.ContainsFunc(p.mounts(), func(m mount) bool {
		return m.Source == "./deploy/prometheus" && m.Target == "/etc/prometheus"
	}) {
		t.Errorf("the prometheus service does not mount ./deploy/prometheus at /etc/prometheus (its default config path)")
	}
}

func TestPrometheusAlerts(t *testing.T) {
	pc, jobs := loadPrometheus(t)
	if len(pc.RuleFiles) == 0 {
		t.Fatal("prometheus.yml loads no rule files")
	}
	for _, rf := range pc.RuleFiles {
		var rules struct {
			Groups []struct {
				Name  string
				Rules []struct {
					Alert, Record, Expr, For string
					Labels                   map[string]string
					Annotations              map[string]string
				}
			}
		}
		if err := yaml.Unmarshal(readRepoFile(t, path.Join("deploy/prometheus", rf)), &rules); err != nil {
			t.Fatalf("%s: %v", rf, err)
		}
		if len(rules.Groups) == 0 {
			t.Errorf("%s: no rule groups", rf)
		}
		for _, g := range rules.Groups {
			for _, r := range g.Rules {
				t.Run(rf+"/"+r.Alert+r.Record, func(t *testing.T) {
					if r.Alert == "" {
						return
					}
					if r.Expr == "" || r.Labels["severity"] == "" || r.Annotations["summary"] == "" {
						t.Errorf("alert %s: needs expr, labels.severity and annotations.summary", r.Alert)
					}
					checkExpr(t, rf+" "+r.Alert, r.Expr, jobs)
				})
			}
		}
	}
}

// panel is a Grafana panel, rows included.
type panel struct {
	ID         int
	Type       string
	Title      string
	Datasource *struct{ Type, UID string }
	GridPos    struct{ H, W, X, Y int } `json:"gridPos"`
	Targets    []struct {
		Expr       string
		Datasource *struct{ Type, UID string }
	}
	Panels []panel
}

func TestGrafanaDashboard(t *testing.T) {
	var dash struct {
		UID, Title string
		Panels     []panel
	}
	if err := json.Unmarshal(readRepoFile(t, "deploy/grafana/dashboards/vigil.json"), &dash); err != nil {
		t.Fatalf("vigil.json: %v", err)
	}
	if dash.UID == "" || dash.Title == "" {
		t.Errorf("the dashboard needs a uid and a title")
	}
	var ds struct {
		Datasources []struct {
			Name, UID, Type, URL string
		}
	}
	if err := yaml.Unmarshal(readRepoFile(t, "deploy/grafana/provisioning/datasources/prometheus.yml"), &ds); err != nil {
		t.Fatal(err)
	}
	if len(ds.Datasources) != 1 || ds.Datasources[0].Type != "prometheus" {
		t.Fatalf("want one provisioned Prometheus datasource, got %+v", ds.Datasources)
	}
	uid := ds.Datasources[0].UID
	_, jobs := loadPrometheus(t)

	var all []panel
	var walk func([]panel)
	walk = func(ps []panel) {
		for _, p := range ps {
			all = append(all, p)
			walk(p.Panels)
		}
	}
	walk(dash.Panels)
	exprs := map[string][]string{} // panel title → expressions
	for _, p := range all {
		if p.Type == "row" {
			continue
		}
		t.Run(p.Title, func(t *testing.T) {
			if len(p.Targets) == 0 {
				t.Errorf("no queries")
			}
			if p.Datasource == nil || p.Datasource.UID != uid {
				t.Errorf("datasource %+v, want the provisioned uid %q", p.Datasource, uid)
			}
			for _, tg := range p.Targets {
				if tg.Datasource != nil && tg.Datasource.UID != uid {
					t.Errorf("query datasource uid %q, want %q", tg.Datasource.UID, uid)
				}
				checkExpr(t, "panel "+p.Title, tg.Expr, jobs)
				exprs[p.Title] = append(exprs[p.Title], tg.Expr)
			}
		})
	}
	// The panels the issue asks for: a panel querying each.
	for _, want := range []struct{ what, re string }{
		{"lag", `vigil_consumer_lag`},
		{"throughput", `rate\((vigil_readings_total|vigil_records_in_total)`},
		{"latency", `histogram_quantile\([^,]+,.*vigil_end_to_end_seconds_bucket`},
		{"events by kind", `by \(kind\) \(rate\(vigil_events_total`},
		{"dead letters by reason", `by \(reason\) \(rate\(vigil_dead_letters_total`},
		{"live series", `vigil_live_series`},
		{"model versions", `vigil_model_version`},
	} {
		re := regexp.MustCompile(want.re)
		found := false
		for _, es := range exprs {
			if slices.ContainsFunc(es, re.MatchString) {
				found = true
			}
		}
		if !found {
			t.Errorf("no panel shows %s (a query matching %s)", want.what, want.re)
		}
	}
	// Panels do not overlap on the 24-column grid.
	for i, a := range all {
		if a.GridPos.X+a.GridPos.W > 24 {
			t.Errorf("panel %q is wider than the grid", a.Title)
		}
		for _, b := range all[i+1:] {
			if a.GridPos.X < b.GridPos.X+b.GridPos.W && b.GridPos.X < a.GridPos.X+a.GridPos.W &&
				a.GridPos.Y < b.GridPos.Y+b.GridPos.H && b.GridPos.Y < a.GridPos.Y+a.GridPos.H {
				t.Errorf("panels %q and %q overlap", a.Title, b.Title)
			}
		}
	}
}

func TestGrafanaProvisioning(t *testing.T) {
	c := loadCompose(t)
	g := c.Services["grafana"]
	target := func(src string) string {
		for _, m := range g.mounts() {
			if m.Source == src {
				return m.Target
			}
		}
		return ""
	}
	if got := target("./deploy/grafana/provisioning"); got != "/etc/grafana/provisioning" {
		t.Errorf("provisioning mounted at %q, Grafana reads /etc/grafana/provisioning", got)
	}
	var prov struct {
		Providers []struct {
			Type    string
			Options struct{ Path string }
		}
	}
	if err := yaml.Unmarshal(readRepoFile(t, "deploy/grafana/provisioning/dashboards/vigil.yml"), &prov); err != nil {
		t.Fatal(err)
	}
	dashDir := target("./deploy/grafana/dashboards")
	if len(prov.Providers) != 1 || prov.Providers[0].Type != "file" || prov.Providers[0].Options.Path != dashDir {
		t.Errorf("dashboard providers %+v: want one file provider reading %q, where compose mounts deploy/grafana/dashboards", prov.Providers, dashDir)
	}
	var ds struct {
		Datasources []struct{ URL string }
	}
	if err := yaml.Unmarshal(readRepoFile(t, "deploy/grafana/provisioning/datasources/prometheus.yml"), &ds); err != nil {
		t.Fatal(err)
	}
	for _, d := range ds.Datasources {
		u, err := url.Parse(d.URL)
		if err != nil {
			t.Fatalf("datasource url %q: %v", d.URL, err)
		}
		s, ok := c.Services[u.Hostname()]
		if !ok {
			t.Errorf("datasource url %s: no compose service %s", d.URL, u.Hostname())
			continue
		}
		if p := port(t, u.Host); !slices.Contains(s.containerPorts(t), p) {
			t.Errorf("datasource url %s: service %s does not serve port %d", d.URL, u.Hostname(), p)
		}
	}
}
