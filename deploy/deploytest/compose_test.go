package deploytest

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"
)

// stringList is a YAML string or list of strings (compose's command,
// entrypoint, profiles).
type stringList []string

func (l *stringList) UnmarshalYAML(n *yaml.Node) error {
	switch n.Kind {
	case yaml.ScalarNode:
		*l = strings.Fields(n.Value)
		return nil
	case yaml.SequenceNode:
		for _, e := range n.Content {
			*l = append(*l, e.Value)
		}
		return nil
	}
	return fmt.Errorf("line %d: want a string or a list", n.Line)
}

// envMap is compose's environment: a map, or a list of KEY=VALUE.
type envMap map[string]string

func (m *envMap) UnmarshalYAML(n *yaml.Node) error {
	*m = envMap{}
	switch n.Kind {
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			(*m)[n.Content[i].Value] = n.Content[i+1].Value
		}
		return nil
	case yaml.SequenceNode:
		for _, e := range n.Content {
			k, v, _ := strings.Cut(e.Value, "=")
			(*m)[k] = v
		}
		return nil
	}
	return fmt.Errorf("line %d: environment: want a map or a list", n.Line)
}

// dependsOn is compose's depends_on: a list of services, or a map of
// service to its condition.
type dependsOn map[string]string

func (d *dependsOn) UnmarshalYAML(n *yaml.Node) error {
	*d = dependsOn{}
	switch n.Kind {
	case yaml.SequenceNode:
		for _, e := range n.Content {
			(*d)[e.Value] = "service_started"
		}
		return nil
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			var c struct{ Condition string }
			if err := n.Content[i+1].Decode(&c); err != nil {
				return err
			}
			(*d)[n.Content[i].Value] = c.Condition
		}
		return nil
	}
	return fmt.Errorf("line %d: depends_on: want a list or a map", n.Line)
}

type composeService struct {
	Image string
	Build *struct {
		Context, Target, Dockerfile string
	}
	Command         stringList
	Entrypoint      stringList
	Environment     envMap
	Ports           []string
	Volumes         []string
	DependsOn       dependsOn `yaml:"depends_on"`
	Profiles        stringList
	StopGracePeriod string `yaml:"stop_grace_period"`
	Restart         string
}

type composeFile struct {
	Name     string
	Services map[string]composeService
	Volumes  map[string]any
}

func loadCompose(t *testing.T) composeFile {
	t.Helper()
	var c composeFile
	if err := yaml.Unmarshal(readRepoFile(t, "docker-compose.yml"), &c); err != nil {
		t.Fatalf("docker-compose.yml: %v", err)
	}
	return c
}

// mount is a short-syntax volume: SOURCE:TARGET[:MODE].
type mount struct {
	Source, Target string
	ReadOnly       bool
}

func (s composeService) mounts() []mount {
	var ms []mount
	for _, v := range s.Volumes {
		f := strings.Split(v, ":")
		m := mount{Source: f[0], Target: f[0]}
		if len(f) > 1 {
			m.Target = f[1]
		}
		m.ReadOnly = len(f) > 2 && strings.Contains(f[2], "ro")
		ms = append(ms, m)
	}
	return ms
}

// containerPorts returns the container side of the published ports.
func (s composeService) containerPorts(t *testing.T) []int {
	t.Helper()
	var ps []int
	for _, p := range s.Ports {
		f := strings.Split(strings.TrimSuffix(p, "/tcp"), ":")
		n, err := strconv.Atoi(f[len(f)-1])
		if err != nil {
			t.Fatalf("port %q: %v", p, err)
		}
		ps = append(ps, n)
	}
	return ps
}

// composeWorkloads returns the services that run a Vigil image, by name.
func composeWorkloads(t *testing.T, c composeFile) map[string]workload {
	t.Helper()
	ws := map[string]workload{}
	for name, s := range c.Services {
		if s.Build == nil {
			continue
		}
		prog, args, err := programOf(s.Build.Target, s.Command)
		if err != nil {
			t.Fatalf("compose service %s: %v", name, err)
		}
		ws[name] = workload{where: "compose service " + name, prog: prog, args: args, env: s.Environment}
	}
	return ws
}

var topicCreate = regexp.MustCompile(`--topic\s+(\S+)([^\n]*)`)

// topicSpec is a topic a creation script creates.
type topicSpec struct {
	Partitions int
	Compacted  bool
}

// createdTopics reads kafka-topics.sh --create lines.
func createdTopics(script string) map[string]topicSpec {
	ts := map[string]topicSpec{}
	for _, m := range topicCreate.FindAllStringSubmatch(script, -1) {
		var s topicSpec
		if p := regexp.MustCompile(`--partitions\s+(\d+)`).FindStringSubmatch(m[2]); p != nil {
			s.Partitions, _ = strconv.Atoi(p[1])
		}
		s.Compacted = strings.Contains(m[2], "cleanup.policy=compact")
		ts[m[1]] = s
	}
	return ts
}

func TestComposeServices(t *testing.T) {
	c := loadCompose(t)
	if c.Name != "vigil" {
		t.Errorf("project name %q, want vigil", c.Name)
	}
	for _, name := range []string{"kafka", "topics", "consumer", "trainer", "replay", "tail", "prometheus", "grafana"} {
		t.Run(name, func(t *testing.T) {
			s, ok := c.Services[name]
			if !ok {
				t.Fatalf("no service %q", name)
			}
			if s.Build != nil {
				if s.Build.Context != "." || (s.Build.Dockerfile != "" && s.Build.Dockerfile != "Dockerfile") {
					t.Errorf("build context %q, Dockerfile %q: want the repository's Dockerfile", s.Build.Context, s.Build.Dockerfile)
				}
				if !slices.Contains(images, s.Build.Target) {
					t.Errorf("build target %q is none of the Dockerfile's images %v", s.Build.Target, images)
				}
				return
			}
			if !pinned(s.Image) {
				t.Errorf("image %q is not pinned to a version", s.Image)
			}
		})
	}
}

func TestComposeFlags(t *testing.T) {
	flags := realFlags(t)
	c := loadCompose(t)
	ws := composeWorkloads(t, c)
	for _, name := range []string{"consumer", "trainer", "replay", "tail"} {
		t.Run(name, func(t *testing.T) {
			w, ok := ws[name]
			if !ok {
				t.Fatalf("service %s does not build a Vigil image", name)
			}
			if len(c.Services[name].Entrypoint) > 0 {
				t.Errorf("entrypoint overridden: the image's ENTRYPOINT is the binary")
			}
			w.check(t, flags)
		})
	}
}

func TestComposeWiring(t *testing.T) {
	flags := realFlags(t)
	c := loadCompose(t)
	ws := composeWorkloads(t, c)
	consumer, trainer, replay, tail := ws["consumer"], ws["trainer"], ws["replay"], ws["tail"]
	topics := createdTopics(strings.Join(c.Services["topics"].Command, "\n"))
	advertised := map[string]bool{}
	for _, l := range strings.Split(c.Services["kafka"].Environment["KAFKA_ADVERTISED_LISTENERS"], ",") {
		if _, hostPort, ok := strings.Cut(l, "://"); ok {
			advertised[hostPort] = true
		}
	}

	t.Run("brokers", func(t *testing.T) {
		for _, w := range []workload{consumer, trainer, replay, tail} {
			for _, b := range strings.Split(w.value(t, flags, "kafka.brokers"), ",") {
				if !advertised[b] {
					t.Errorf("%s: broker %s is not an advertised listener of the kafka service (%v)", w.where, b, advertised)
				}
			}
		}
	})

	t.Run("topics exist", func(t *testing.T) {
		need := []struct {
			w    workload
			flag string
		}{
			{consumer, "stream.topics"}, {consumer, "stream.events-topic"}, {consumer, "stream.dlq-topic"},
			{consumer, "stream.scores-topic"}, {consumer, "stream.changelog-topic"}, {consumer, "models.topic"},
			{replay, "replay.topic"}, {tail, "tail.topic"},
			{trainer, "topics"}, {trainer, "events-topic"}, {trainer, "dlq-topic"}, {trainer, "models.topic"},
		}
		for _, n := range need {
			for _, topic := range strings.Split(n.w.value(t, flags, n.flag), ",") {
				if _, ok := topics[topic]; topic != "" && !ok {
					t.Errorf("%s: -%s=%s is not created by the topics service (Kafka does not auto-create topics here)", n.w.where, n.flag, topic)
				}
			}
		}
		inputs := 0
		for _, in := range strings.Split(consumer.value(t, flags, "stream.topics"), ",") {
			inputs = max(inputs, topics[in].Partitions)
		}
		cl := topics[consumer.value(t, flags, "stream.changelog-topic")]
		if !cl.Compacted || cl.Partitions < inputs {
			t.Errorf("changelog %+v: must be compacted with at least the inputs' %d partitions", cl, inputs)
		}
		if mt := topics["vigil.models"]; !mt.Compacted {
			t.Errorf("vigil.models %+v: the model topic must be compacted", mt)
		}
	})

	t.Run("replay publishes what the consumer reads", func(t *testing.T) {
		in := strings.Split(consumer.value(t, flags, "stream.topics"), ",")
		if rt := replay.value(t, flags, "replay.topic"); !slices.Contains(in, rt) {
			t.Errorf("replay publishes to %s, the consumer reads %v", rt, in)
		}
	})

	t.Run("tail follows what the consumer publishes", func(t *testing.T) {
		if a, b := tail.value(t, flags, "tail.topic"), consumer.value(t, flags, "stream.events-topic"); a != b {
			t.Errorf("tail follows %s, the consumer publishes events to %s", a, b)
		}
	})

	t.Run("trainer and consumer agree", func(t *testing.T) {
		checkShared(t, flags, consumer, trainer)
	})

	t.Run("model store", func(t *testing.T) {
		var vol string
		for _, w := range []workload{consumer, trainer} {
			name := strings.Fields(w.where)[2]
			dir := w.value(t, flags, "models.dir")
			var m *mount
			for _, mm := range c.Services[name].mounts() {
				if mm.Target == dir {
					m = &mm
				}
			}
			if m == nil {
				t.Errorf("%s: -models.dir=%s is not a mounted volume: the model store would not be shared", w.where, dir)
				continue
			}
			if _, ok := c.Volumes[m.Source]; !ok {
				t.Errorf("%s: %s is not a named volume of the file", w.where, m.Source)
			}
			if vol != "" && vol != m.Source {
				t.Errorf("consumer and trainer mount different volumes (%s, %s) as the model store", vol, m.Source)
			}
			vol = m.Source
			if !imageDirs(t, c.Services[name].Build.Target)[dir] {
				t.Errorf("%s: the %s image does not create %s owned by nonroot: a new named volume there is root's, and the trainer cannot write it",
					w.where, c.Services[name].Build.Target, dir)
			}
		}
		if m := trainerMount(t, c, trainer, flags); m != nil && m.ReadOnly {
			t.Errorf("the trainer mounts the model store read-only")
		}
	})

	t.Run("sample data", func(t *testing.T) {
		for _, x := range []struct {
			w    workload
			flag string
		}{{replay, "replay.files"}, {trainer, "files"}} {
			name := strings.Fields(x.w.where)[2]
			for _, f := range strings.Split(x.w.value(t, flags, x.flag), ",") {
				if f == "" {
					continue
				}
				found := false
				for _, m := range c.Services[name].mounts() {
					if f == m.Target || strings.HasPrefix(f, m.Target+"/") {
						found = true
						if !strings.HasPrefix(m.Source, "./") {
							continue
						}
						if _, err := os.Stat(filepath.Join(repoRoot(), m.Source)); err != nil {
							t.Errorf("%s: mount source %s: %v", x.w.where, m.Source, err)
						}
						if !m.ReadOnly {
							t.Errorf("%s: the sample data %s is mounted writable", x.w.where, m.Source)
						}
					}
				}
				if !found {
					t.Errorf("%s: -%s=%s is not inside a mounted volume", x.w.where, x.flag, f)
				}
			}
		}
	})

	t.Run("consumer admin port", func(t *testing.T) {
		p := port(t, consumer.value(t, flags, "admin.addr"))
		if ps := c.Services["consumer"].containerPorts(t); !slices.Contains(ps, p) {
			t.Errorf("consumer publishes ports %v, its admin port (-admin.addr) is %d", ps, p)
		}
	})

	t.Run("consumer shuts down cleanly", func(t *testing.T) {
		grace := 10 * time.Second // compose's default
		if g := c.Services["consumer"].StopGracePeriod; g != "" {
			var err error
			if grace, err = time.ParseDuration(g); err != nil {
				t.Fatalf("stop_grace_period %q: %v", g, err)
			}
		}
		st, err := time.ParseDuration(consumer.value(t, flags, "stream.shutdown-timeout"))
		if err != nil {
			t.Fatal(err)
		}
		if grace <= st {
			t.Errorf("stop_grace_period %s must exceed -stream.shutdown-timeout %s, or the consumer is killed mid-checkpoint", grace, st)
		}
	})

	t.Run("start order", func(t *testing.T) {
		for _, name := range []string{"consumer", "replay"} {
			if cond := c.Services[name].DependsOn["topics"]; cond != "service_completed_successfully" {
				t.Errorf("%s depends on topics with condition %q, want service_completed_successfully", name, cond)
			}
		}
		if cond := c.Services["topics"].DependsOn["kafka"]; cond != "service_healthy" {
			t.Errorf("topics depends on kafka with condition %q, want service_healthy", cond)
		}
	})

	t.Run("trainer on demand", func(t *testing.T) {
		s := c.Services["trainer"]
		for _, name := range []string{"trainer", "tail"} {
			if len(c.Services[name].Profiles) == 0 {
				t.Errorf("%s has no profile, so `docker compose up` starts it", name)
			}
		}
		if s.Restart != "" && s.Restart != "no" {
			t.Errorf("trainer restart %q: a finished training must not start again", s.Restart)
		}
		if trainer.prog != "trainer train" {
			t.Errorf("the trainer service runs %q, want trainer train", trainer.prog)
		}
	})
}

func trainerMount(t *testing.T, c composeFile, trainer workload, flags map[string]flagSet) *mount {
	t.Helper()
	dir := trainer.value(t, flags, "models.dir")
	for _, m := range c.Services["trainer"].mounts() {
		if m.Target == dir {
			return &m
		}
	}
	return nil
}

// sharedExempt are flags the consumer and the trainer may set differently:
// identity, logging, where each keeps its store, and the per-instance
// series cap (a consumer's capacity, not a detection setting).
var sharedExempt = regexp.MustCompile(`^(kafka\.client-id|log\..*|models\.dir|models\.poll|models\.keep|detect\.max-series)$`)

// checkShared checks that every flag the consumer and `trainer train`
// both have (brokers, routing, detection and threshold settings: the
// trainer evaluates challengers with the consumer's detection path) has
// the same effective value in both.
func checkShared(t *testing.T, flags map[string]flagSet, consumer, trainer workload) {
	t.Helper()
	for name := range flags[consumer.prog] {
		if _, ok := flags[trainer.prog][name]; !ok || sharedExempt.MatchString(name) {
			continue
		}
		if a, b := consumer.value(t, flags, name), trainer.value(t, flags, name); a != b {
			t.Errorf("-%s: %s has %q, %s has %q: the trainer would train and judge models for another setup", name, consumer.where, a, trainer.where, b)
		}
	}
}
