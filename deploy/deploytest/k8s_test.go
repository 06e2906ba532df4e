package deploytest

import (
	"errors"
	"io"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"
)

const k8sDir = "deploy/k8s"

// object is one Kubernetes manifest; Spec is decoded per kind.
type object struct {
	APIVersion string `yaml:"apiVersion"`
	Kind       string
	Metadata   struct {
		Name        string
		Namespace   string
		Labels      map[string]string
		Annotations map[string]string
	}
	Data       map[string]string
	StringData map[string]string `yaml:"stringData"`
	Spec       yaml.Node

	file string
}

func (o *object) String() string { return o.file + ": " + o.Kind + " " + o.Metadata.Name }

func (o *object) spec(t *testing.T, v any) {
	t.Helper()
	if err := o.Spec.Decode(v); err != nil {
		t.Fatalf("%s: spec: %v", o, err)
	}
}

// intOrString is a port: a number or a port name.
type intOrString string

func (p *intOrString) UnmarshalYAML(n *yaml.Node) error {
	*p = intOrString(n.Value)
	return nil
}

type keyRef struct {
	Name, Key string
	Optional  bool
}

type probe struct {
	HTTPGet *struct {
		Path string
		Port intOrString
	} `yaml:"httpGet"`
	FailureThreshold int `yaml:"failureThreshold"`
}

type securityContext struct {
	RunAsNonRoot             *bool  `yaml:"runAsNonRoot"`
	RunAsUser                *int64 `yaml:"runAsUser"`
	ReadOnlyRootFilesystem   *bool  `yaml:"readOnlyRootFilesystem"`
	AllowPrivilegeEscalation *bool  `yaml:"allowPrivilegeEscalation"`
	Capabilities             struct{ Drop []string }
}

type container struct {
	Name, Image string
	Command     []string
	Args        []string
	Env         []struct {
		Name, Value string
		ValueFrom   *struct {
			SecretKeyRef    *keyRef `yaml:"secretKeyRef"`
			ConfigMapKeyRef *keyRef `yaml:"configMapKeyRef"`
		} `yaml:"valueFrom"`
	}
	EnvFrom []struct {
		ConfigMapRef *keyRef `yaml:"configMapRef"`
		SecretRef    *keyRef `yaml:"secretRef"`
		Prefix       string
	} `yaml:"envFrom"`
	Ports []struct {
		Name          string
		ContainerPort int `yaml:"containerPort"`
	}
	ReadinessProbe *probe `yaml:"readinessProbe"`
	LivenessProbe  *probe `yaml:"livenessProbe"`
	Resources      struct {
		Requests, Limits map[string]string
	}
	VolumeMounts []struct {
		Name      string
		MountPath string `yaml:"mountPath"`
		ReadOnly  bool   `yaml:"readOnly"`
	} `yaml:"volumeMounts"`
	SecurityContext securityContext `yaml:"securityContext"`
}

type podSpec struct {
	RestartPolicy                 string          `yaml:"restartPolicy"`
	TerminationGracePeriodSeconds *int64          `yaml:"terminationGracePeriodSeconds"`
	SecurityContext               securityContext `yaml:"securityContext"`
	Containers                    []container
	InitContainers                []container `yaml:"initContainers"`
	Volumes                       []struct {
		Name                  string
		PersistentVolumeClaim *struct {
			ClaimName string `yaml:"claimName"`
		} `yaml:"persistentVolumeClaim"`
		Secret *struct {
			SecretName string `yaml:"secretName"`
			Optional   bool
		}
	}
}

type podTemplate struct {
	Metadata struct {
		Labels      map[string]string
		Annotations map[string]string
	}
	Spec podSpec
}

type labelSelector struct {
	MatchLabels map[string]string `yaml:"matchLabels"`
}

// selects reports whether the selector matches the labels.
func (s labelSelector) selects(labels map[string]string) bool {
	if len(s.MatchLabels) == 0 {
		return false
	}
	for k, v := range s.MatchLabels {
		if labels[k] != v {
			return false
		}
	}
	return true
}

type deploymentSpec struct {
	Replicas *int
	Selector labelSelector
	Template podTemplate
}

type podFailureRule struct {
	Action      string
	OnExitCodes *struct {
		ContainerName string `yaml:"containerName"`
		Operator      string
		Values        []int
	} `yaml:"onExitCodes"`
	OnPodConditions []struct{ Type string } `yaml:"onPodConditions"`
}

type jobSpec struct {
	BackoffLimit          *int `yaml:"backoffLimit"`
	ActiveDeadlineSeconds *int `yaml:"activeDeadlineSeconds"`
	PodFailurePolicy      *struct {
		Rules []podFailureRule
	} `yaml:"podFailurePolicy"`
	Template podTemplate
}

type cronJobSpec struct {
	Schedule          string
	TimeZone          string `yaml:"timeZone"`
	ConcurrencyPolicy string `yaml:"concurrencyPolicy"`
	JobTemplate       struct {
		Spec jobSpec
	} `yaml:"jobTemplate"`
}

// manifests is every object of deploy/k8s except the kustomization.
type manifests struct {
	objs []*object
	kust *struct {
		APIVersion string `yaml:"apiVersion"`
		Kind       string
		Namespace  string
		Resources  []string
	}
}

func (m *manifests) find(kind, name string) *object {
	for _, o := range m.objs {
		if o.Kind == kind && o.Metadata.Name == name {
			return o
		}
	}
	return nil
}

func (m *manifests) ofKind(kind string) []*object {
	var out []*object
	for _, o := range m.objs {
		if o.Kind == kind {
			out = append(out, o)
		}
	}
	return out
}

func loadK8s(t *testing.T) *manifests {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(repoRoot(), k8sDir, "*.yaml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no manifests in %s (%v)", k8sDir, err)
	}
	m := &manifests{}
	for _, f := range files {
		base := filepath.Base(f)
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if base == "kustomization.yaml" {
			if err := yaml.Unmarshal(b, &m.kust); err != nil {
				t.Fatalf("%s: %v", base, err)
			}
			continue
		}
		dec := yaml.NewDecoder(strings.NewReader(string(b)))
		for i := 0; ; i++ {
			o := &object{file: base}
			err := dec.Decode(o)
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				t.Fatalf("%s, document %d: %v", base, i+1, err)
			}
			if o.Kind == "" && o.APIVersion == "" {
				continue // an empty document
			}
			m.objs = append(m.objs, o)
		}
	}
	return m
}

// apiVersions are the API versions each kind is expected in.
var apiVersions = map[string]string{
	"Namespace":             "v1",
	"ConfigMap":             "v1",
	"Secret":                "v1",
	"Service":               "v1",
	"PersistentVolumeClaim": "v1",
	"Deployment":            "apps/v1",
	"Job":                   "batch/v1",
	"CronJob":               "batch/v1",
	"PodDisruptionBudget":   "policy/v1",
}

func TestK8sManifests(t *testing.T) {
	m := loadK8s(t)
	seen := map[string]bool{}
	for _, o := range m.objs {
		t.Run(o.String(), func(t *testing.T) {
			want, ok := apiVersions[o.Kind]
			if !ok {
				t.Fatalf("unexpected kind %q", o.Kind)
			}
			if o.APIVersion != want {
				t.Errorf("apiVersion %q, want %q", o.APIVersion, want)
			}
			if o.Metadata.Name == "" {
				t.Errorf("no metadata.name")
			}
			if seen[o.Kind+"/"+o.Metadata.Name] {
				t.Errorf("defined twice")
			}
			seen[o.Kind+"/"+o.Metadata.Name] = true
			if o.Metadata.Labels["app.kubernetes.io/name"] != "vigil" && o.Kind != "Namespace" {
				t.Errorf("no label app.kubernetes.io/name=vigil")
			}
			if o.Kind != "Namespace" && o.Metadata.Namespace != "" {
				t.Errorf("namespace %q set in the manifest: the kustomization sets it", o.Metadata.Namespace)
			}
		})
	}
	for _, want := range []struct{ kind, name string }{
		{"Deployment", "vigil-consumer"},
		{"PodDisruptionBudget", "vigil-consumer"},
		{"CronJob", "vigil-trainer"},
		{"Secret", "vigil-kafka-sasl"},
	} {
		if m.find(want.kind, want.name) == nil {
			t.Errorf("no %s %s", want.kind, want.name)
		}
	}
	if len(m.ofKind("ConfigMap")) == 0 {
		t.Errorf("no ConfigMap")
	}
}

func TestK8sKustomization(t *testing.T) {
	m := loadK8s(t)
	if m.kust == nil {
		t.Fatal("no kustomization.yaml")
	}
	if m.kust.APIVersion != "kustomize.config.k8s.io/v1beta1" || m.kust.Kind != "Kustomization" {
		t.Errorf("kustomization: apiVersion %q kind %q", m.kust.APIVersion, m.kust.Kind)
	}
	files := map[string]bool{}
	for _, o := range m.objs {
		files[o.file] = true
	}
	for _, r := range m.kust.Resources {
		if !files[r] {
			t.Errorf("kustomization lists %s, which holds no manifest of %s", r, k8sDir)
		}
		delete(files, r)
	}
	for f := range files {
		t.Errorf("%s is not listed in kustomization.yaml", f)
	}
	if ns := m.ofKind("Namespace"); len(ns) == 1 && ns[0].Metadata.Name != m.kust.Namespace {
		t.Errorf("kustomization namespace %q, Namespace object %q", m.kust.Namespace, ns[0].Metadata.Name)
	}
}

// pod is a pod template of a workload object.
type pod struct {
	obj  *object
	tmpl podTemplate
}

func (m *manifests) pods(t *testing.T) []pod {
	t.Helper()
	var ps []pod
	for _, o := range m.objs {
		switch o.Kind {
		case "Deployment":
			var s deploymentSpec
			o.spec(t, &s)
			ps = append(ps, pod{o, s.Template})
		case "Job":
			var s jobSpec
			o.spec(t, &s)
			ps = append(ps, pod{o, s.Template})
		case "CronJob":
			var s cronJobSpec
			o.spec(t, &s)
			ps = append(ps, pod{o, s.JobTemplate.Spec.Template})
		}
	}
	return ps
}

// binaryOf returns the Vigil binary an image runs, or "".
func binaryOf(image string) string {
	name := image[strings.LastIndex(image, "/")+1:]
	name, _, _ = strings.Cut(name, ":")
	for _, b := range images {
		if name == "vigil-"+b || name == b && strings.Contains(image, "vigil") {
			return b
		}
	}
	return ""
}

// env resolves a container's environment: its env entries and every key of
// the ConfigMaps and Secrets of envFrom. Values from a Secret are "secret".
func (m *manifests) env(t *testing.T, where string, c container) map[string]string {
	t.Helper()
	env := map[string]string{}
	source := func(kind string, ref *keyRef) map[string]string {
		o := m.find(kind, ref.Name)
		if o == nil {
			if !ref.Optional {
				t.Errorf("%s: container %s refers to %s %s, which is not defined", where, c.Name, kind, ref.Name)
			}
			return nil
		}
		data := map[string]string{}
		for k, v := range o.Data {
			data[k] = v
		}
		for k, v := range o.StringData {
			data[k] = v
		}
		return data
	}
	for _, ef := range c.EnvFrom {
		var data map[string]string
		switch {
		case ef.ConfigMapRef != nil:
			data = source("ConfigMap", ef.ConfigMapRef)
		case ef.SecretRef != nil:
			data = source("Secret", ef.SecretRef)
		}
		for k, v := range data {
			env[ef.Prefix+k] = v
		}
	}
	for _, e := range c.Env {
		switch {
		case e.ValueFrom == nil:
			env[e.Name] = e.Value
		case e.ValueFrom.ConfigMapKeyRef != nil, e.ValueFrom.SecretKeyRef != nil:
			kind, ref := "ConfigMap", e.ValueFrom.ConfigMapKeyRef
			if ref == nil {
				kind, ref = "Secret", e.ValueFrom.SecretKeyRef
			}
			data := source(kind, ref)
			v, ok := data[ref.Key]
			if data != nil && !ok {
				t.Errorf("%s: %s refers to key %q of %s %s, which has no such key", where, e.Name, ref.Key, kind, ref.Name)
			}
			env[e.Name] = v
		}
	}
	return env
}

// k8sWorkloads returns every container that runs a Vigil image, keyed by
// its binary ("consumer", "trainer", "replay").
func (m *manifests) workloads(t *testing.T) map[string][]workload {
	t.Helper()
	ws := map[string][]workload{}
	for _, p := range m.pods(t) {
		for _, c := range append(p.tmpl.Spec.InitContainers, p.tmpl.Spec.Containers...) {
			where := p.obj.String() + " container " + c.Name
			env := m.env(t, where, c)
			b := binaryOf(c.Image)
			if b == "" {
				continue
			}
			if len(c.Command) > 0 {
				t.Errorf("%s: command overrides the image's ENTRYPOINT (the binary); use args", where)
			}
			prog, args, err := programOf(b, c.Args)
			if err != nil {
				t.Errorf("%s: %v", where, err)
				continue
			}
			ws[b] = append(ws[b], workload{where: where, prog: prog, args: args, env: env})
		}
	}
	return ws
}

func TestK8sFlags(t *testing.T) {
	flags := realFlags(t)
	m := loadK8s(t)
	ws := m.workloads(t)
	for _, b := range []string{"consumer", "trainer"} {
		if len(ws[b]) == 0 {
			t.Errorf("no container runs the %s image", b)
		}
	}
	for _, list := range ws {
		for _, w := range list {
			t.Run(w.where, func(t *testing.T) { w.check(t, flags) })
		}
	}
}

// the one consumer Deployment and its spec.
func consumerDeployment(t *testing.T, m *manifests) (*object, deploymentSpec, container) {
	t.Helper()
	o := m.find("Deployment", "vigil-consumer")
	if o == nil {
		t.Fatal("no Deployment vigil-consumer")
	}
	var s deploymentSpec
	o.spec(t, &s)
	for _, c := range s.Template.Spec.Containers {
		if binaryOf(c.Image) == "consumer" {
			return o, s, c
		}
	}
	t.Fatalf("%s: no container runs the consumer image", o)
	return nil, s, container{}
}

func oneWorkload(t *testing.T, ws map[string][]workload, binary string) workload {
	t.Helper()
	if len(ws[binary]) != 1 {
		t.Fatalf("%d containers run the %s image, want 1", len(ws[binary]), binary)
	}
	return ws[binary][0]
}

// portNumber resolves a probe or service port: a number, or the name of
// one of the container's ports.
func portNumber(c container, p intOrString) int {
	if n, err := strconv.Atoi(string(p)); err == nil {
		return n
	}
	for _, cp := range c.Ports {
		if cp.Name == string(p) {
			return cp.ContainerPort
		}
	}
	return -1
}

func TestK8sConsumer(t *testing.T) {
	flags := realFlags(t)
	m := loadK8s(t)
	_, s, c := consumerDeployment(t, m)
	w := oneWorkload(t, m.workloads(t), "consumer")
	admin := port(t, w.value(t, flags, "admin.addr"))
	podLabels := s.Template.Metadata.Labels

	t.Run("selector", func(t *testing.T) {
		if !s.Selector.selects(podLabels) {
			t.Errorf("selector %v does not select the pod labels %v", s.Selector.MatchLabels, podLabels)
		}
		if s.Replicas == nil || *s.Replicas < 1 {
			t.Errorf("replicas %v: want at least 1, at most the input partitions", s.Replicas)
		}
	})
	for _, pr := range []struct {
		name, path string
		p          *probe
	}{{"readiness", "/readyz", c.ReadinessProbe}, {"liveness", "/healthz", c.LivenessProbe}} {
		t.Run(pr.name+" probe", func(t *testing.T) {
			if pr.p == nil || pr.p.HTTPGet == nil {
				t.Fatalf("no HTTP %s probe", pr.name)
			}
			if pr.p.HTTPGet.Path != pr.path {
				t.Errorf("path %s, want %s", pr.p.HTTPGet.Path, pr.path)
			}
			if _, strs, _ := goSource(t); !strs["GET "+pr.p.HTTPGet.Path] {
				t.Errorf("path %s: the admin server registers no GET %s", pr.p.HTTPGet.Path, pr.p.HTTPGet.Path)
			}
			if got := portNumber(c, pr.p.HTTPGet.Port); got != admin {
				t.Errorf("port %s (%d), want the admin port %d (-admin.addr)", pr.p.HTTPGet.Port, got, admin)
			}
		})
	}
	t.Run("metrics annotations", func(t *testing.T) {
		a := s.Template.Metadata.Annotations
		if a["prometheus.io/scrape"] != "true" || a["prometheus.io/port"] != strconv.Itoa(admin) || a["prometheus.io/path"] != "/metrics" {
			t.Errorf("scrape annotations %v, want scrape=true, port=%d, path=/metrics", a, admin)
		}
	})
	t.Run("resources", func(t *testing.T) {
		checkResources(t, c)
		if v, ok := w.env["GOMEMLIMIT"]; ok {
			if q(t, v) >= q(t, c.Resources.Limits["memory"]) {
				t.Errorf("GOMEMLIMIT %s is not below the memory limit %s", v, c.Resources.Limits["memory"])
			}
		}
	})
	t.Run("graceful shutdown", func(t *testing.T) {
		st, err := time.ParseDuration(w.value(t, flags, "stream.shutdown-timeout"))
		if err != nil {
			t.Fatal(err)
		}
		grace := 30 * time.Second // the Kubernetes default
		if g := s.Template.Spec.TerminationGracePeriodSeconds; g != nil {
			grace = time.Duration(*g) * time.Second
		}
		if grace <= st {
			t.Errorf("terminationGracePeriodSeconds %s must exceed -stream.shutdown-timeout %s", grace, st)
		}
	})
	t.Run("disruption budget", func(t *testing.T) {
		pdbs := m.ofKind("PodDisruptionBudget")
		if len(pdbs) != 1 {
			t.Fatalf("%d PodDisruptionBudgets, want 1", len(pdbs))
		}
		var spec struct {
			MaxUnavailable *intOrString `yaml:"maxUnavailable"`
			Selector       labelSelector
		}
		pdbs[0].spec(t, &spec)
		if !spec.Selector.selects(podLabels) {
			t.Errorf("the PDB selector %v does not select the consumer pods %v", spec.Selector.MatchLabels, podLabels)
		}
		for _, p := range m.pods(t) {
			if p.obj.Kind != "Deployment" && spec.Selector.selects(p.tmpl.Metadata.Labels) {
				t.Errorf("the PDB also selects the pods of %s", p.obj)
			}
		}
		if spec.MaxUnavailable == nil || *spec.MaxUnavailable != "1" {
			t.Errorf("maxUnavailable %v, want 1", spec.MaxUnavailable)
		}
	})
	t.Run("service", func(t *testing.T) {
		for _, o := range m.ofKind("Service") {
			var spec struct {
				Selector map[string]string
				Ports    []struct {
					Port       int
					TargetPort intOrString `yaml:"targetPort"`
				}
			}
			o.spec(t, &spec)
			if !(labelSelector{MatchLabels: spec.Selector}).selects(podLabels) {
				t.Errorf("%s: selector %v does not select the consumer pods", o, spec.Selector)
			}
			for _, p := range spec.Ports {
				if got := portNumber(c, p.TargetPort); got != admin {
					t.Errorf("%s: targetPort %s (%d), want the admin port %d", o, p.TargetPort, got, admin)
				}
			}
		}
	})
}

func TestK8sTrainer(t *testing.T) {
	flags := realFlags(t)
	m := loadK8s(t)
	o := m.find("CronJob", "vigil-trainer")
	if o == nil {
		t.Fatal("no CronJob vigil-trainer")
	}
	var s cronJobSpec
	o.spec(t, &s)
	job := s.JobTemplate.Spec
	w := oneWorkload(t, m.workloads(t), "trainer")
	var c container
	for _, cc := range job.Template.Spec.Containers {
		if binaryOf(cc.Image) == "trainer" {
			c = cc
		}
	}

	t.Run("nightly", func(t *testing.T) {
		f := strings.Fields(s.Schedule)
		if len(f) != 5 || f[2] != "*" || f[3] != "*" || f[4] != "*" {
			t.Errorf("schedule %q: want once a day (M H * * *)", s.Schedule)
		}
		if _, err := strconv.Atoi(f[0]); err != nil {
			t.Errorf("schedule %q: minute %q", s.Schedule, f[0])
		}
		if _, err := strconv.Atoi(f[1]); err != nil {
			t.Errorf("schedule %q: hour %q", s.Schedule, f[1])
		}
	})
	t.Run("one at a time", func(t *testing.T) {
		if s.ConcurrencyPolicy != "Forbid" {
			t.Errorf("concurrencyPolicy %q, want Forbid", s.ConcurrencyPolicy)
		}
	})
	t.Run("train", func(t *testing.T) {
		if w.prog != "trainer train" {
			t.Errorf("runs %q, want trainer train", w.prog)
		}
		if v := w.value(t, flags, "summary"); v != "" {
			t.Errorf("-summary=%s: the summary belongs on stdout, in the pod's logs", v)
		}
	})
	t.Run("exit codes", func(t *testing.T) {
		if job.Template.Spec.RestartPolicy != "Never" {
			t.Errorf("restartPolicy %q, want Never (podFailurePolicy needs it)", job.Template.Spec.RestartPolicy)
		}
		if job.BackoffLimit == nil {
			t.Errorf("no backoffLimit")
		}
		if job.PodFailurePolicy == nil {
			t.Fatal("no podFailurePolicy: exit codes 2 and 3 would be retried")
		}
		action := map[int]string{}
		disruption := ""
		for _, r := range job.PodFailurePolicy.Rules {
			if r.OnExitCodes != nil {
				if r.OnExitCodes.ContainerName != "" && r.OnExitCodes.ContainerName != c.Name {
					t.Errorf("a rule names container %q, the trainer container is %q", r.OnExitCodes.ContainerName, c.Name)
				}
				if r.OnExitCodes.Operator != "In" {
					t.Errorf("rule operator %q: the rules are written with In", r.OnExitCodes.Operator)
				}
				for _, v := range r.OnExitCodes.Values {
					if _, ok := action[v]; !ok {
						action[v] = r.Action
					}
				}
			}
			for _, pc := range r.OnPodConditions {
				if pc.Type == "DisruptionTarget" {
					disruption = r.Action
				}
			}
		}
		// docs/trainer.md: 1 failure (retried), 2 bad arguments or no
		// data (a retry fails alike), 3 nothing promoted (a retry reaches
		// the same verdict).
		for code, want := range map[int]string{1: "", 2: "FailJob", 3: "FailJob"} {
			if action[code] != want {
				t.Errorf("exit code %d: action %q, want %q", code, action[code], want)
			}
		}
		if disruption != "Ignore" {
			t.Errorf("DisruptionTarget: action %q, want Ignore (a drained node is not the trainer's failure)", disruption)
		}
	})
	t.Run("resources", func(t *testing.T) { checkResources(t, c) })
	t.Run("model store volume", func(t *testing.T) {
		dir := w.value(t, flags, "models.dir")
		var vol string
		for _, vm := range c.VolumeMounts {
			if vm.MountPath == dir {
				vol = vm.Name
			}
		}
		if vol == "" {
			t.Fatalf("-models.dir=%s is not a volume mount: the store (champion, kept versions) would be lost after each run", dir)
		}
		for _, v := range job.Template.Spec.Volumes {
			if v.Name == vol {
				if v.PersistentVolumeClaim == nil || m.find("PersistentVolumeClaim", v.PersistentVolumeClaim.ClaimName) == nil {
					t.Errorf("volume %s is not a PersistentVolumeClaim defined here", vol)
				}
				return
			}
		}
		t.Errorf("no volume %s", vol)
	})
}

func TestK8sModelTopicAndTopics(t *testing.T) {
	flags := realFlags(t)
	m := loadK8s(t)
	ws := m.workloads(t)
	consumer, trainer := oneWorkload(t, ws, "consumer"), oneWorkload(t, ws, "trainer")
	var script strings.Builder
	for _, p := range m.pods(t) {
		if p.obj.Kind != "Job" {
			continue
		}
		for _, c := range p.tmpl.Spec.Containers {
			script.WriteString(strings.Join(append(c.Command, c.Args...), "\n") + "\n")
		}
	}
	topics := createdTopics(script.String())

	t.Run("model topic", func(t *testing.T) {
		ct, tt := consumer.value(t, flags, "models.topic"), trainer.value(t, flags, "models.topic")
		if ct == "" || ct != tt {
			t.Fatalf("models.topic: consumer %q, trainer %q: both must follow the same model topic", ct, tt)
		}
		if s, ok := topics[ct]; !ok || !s.Compacted {
			t.Errorf("model topic %s: created %v, compacted %v; want a Job creating it compacted", ct, ok, s.Compacted)
		}
	})
	t.Run("outputs exist", func(t *testing.T) {
		for _, f := range []string{"stream.events-topic", "stream.dlq-topic", "stream.scores-topic"} {
			if v := consumer.value(t, flags, f); v != "" {
				if _, ok := topics[v]; !ok {
					t.Errorf("-%s=%s is not created by a Job (the consumer requires it to exist)", f, v)
				}
			}
		}
		if cl := consumer.value(t, flags, "stream.changelog-topic"); consumer.value(t, flags, "stream.create-changelog") != "true" {
			if s, ok := topics[cl]; !ok || !s.Compacted {
				t.Errorf("the changelog %s is neither created by the consumer nor compacted by a Job", cl)
			}
		}
	})
	t.Run("trainer and consumer agree", func(t *testing.T) {
		checkShared(t, flags, consumer, trainer)
		for _, p := range [][2]string{{"stream.topics", "topics"}, {"stream.events-topic", "events-topic"}, {"stream.dlq-topic", "dlq-topic"}} {
			if a, b := consumer.value(t, flags, p[0]), trainer.value(t, flags, p[1]); a != b {
				t.Errorf("consumer -%s=%s, trainer -%s=%s: the trainer replays what the consumer reads and excludes what it flagged", p[0], a, p[1], b)
			}
		}
	})
	t.Run("secret mounted", func(t *testing.T) {
		for _, sec := range m.ofKind("Secret") {
			for _, b := range []string{"consumer", "trainer"} {
				if mountedSecret(t, m, b, sec.Metadata.Name) == "" {
					t.Errorf("the %s pods do not mount Secret %s", b, sec.Metadata.Name)
				}
			}
		}
	})
	t.Run("password file", func(t *testing.T) {
		for _, w := range []workload{consumer, trainer} {
			pf := w.value(t, flags, "kafka.sasl.password-file")
			if pf == "" {
				continue
			}
			b := strings.Fields(w.prog)[0]
			found := false
			for _, sec := range m.ofKind("Secret") {
				if dir := mountedSecret(t, m, b, sec.Metadata.Name); dir != "" && path.Dir(pf) == dir {
					found = true
					if _, ok := sec.StringData[path.Base(pf)]; !ok {
						t.Errorf("%s: -kafka.sasl.password-file=%s: Secret %s has no key %s", w.where, pf, sec.Metadata.Name, path.Base(pf))
					}
				}
			}
			if !found {
				t.Errorf("%s: -kafka.sasl.password-file=%s is not in a mounted Secret", w.where, pf)
			}
		}
	})
	t.Run("no literal secrets", func(t *testing.T) {
		for _, p := range m.pods(t) {
			for _, c := range p.tmpl.Spec.Containers {
				for _, e := range c.Env {
					if e.Value != "" && (strings.Contains(e.Name, "PASSWORD") || strings.Contains(e.Name, "SECRET")) && !strings.HasSuffix(e.Name, "_FILE") {
						t.Errorf("%s: %s is a literal; secrets come from a Secret", p.obj, e.Name)
					}
				}
			}
		}
		for _, cm := range m.ofKind("ConfigMap") {
			for k := range cm.Data {
				if (strings.Contains(k, "PASSWORD") || strings.Contains(k, "SECRET")) && !strings.HasSuffix(k, "_FILE") {
					t.Errorf("%s: %s belongs in a Secret", cm, k)
				}
			}
		}
	})
}

// mountedSecret returns where the pods running binary mount the Secret, or
// "" when they do not.
func mountedSecret(t *testing.T, m *manifests, binary, secret string) string {
	t.Helper()
	for _, p := range m.pods(t) {
		vols := map[string]bool{}
		for _, v := range p.tmpl.Spec.Volumes {
			if v.Secret != nil && v.Secret.SecretName == secret {
				vols[v.Name] = true
			}
		}
		for _, c := range p.tmpl.Spec.Containers {
			if binaryOf(c.Image) != binary {
				continue
			}
			for _, vm := range c.VolumeMounts {
				if vols[vm.Name] {
					return vm.MountPath
				}
			}
		}
	}
	return ""
}

var commentedEnv = regexp.MustCompile(`(?m)^\s*#\s*(VIGIL_[A-Z0-9_]+):\s*(.*)$`)

// TestK8sCommentedSettings checks the settings config.yaml offers as
// commented examples (TLS, SASL) like the live ones: real flags of the
// binaries that load that ConfigMap, valid values.
func TestK8sCommentedSettings(t *testing.T) {
	flags := realFlags(t)
	m := loadK8s(t)
	raw := readRepoFile(t, k8sDir+"/config.yaml")
	found := commentedEnv.FindAllSubmatch(raw, -1)
	if len(found) == 0 {
		t.Skip("no commented VIGIL_ settings in config.yaml")
	}
	for _, f := range found {
		name, value := string(f[1]), strings.Trim(strings.TrimSpace(string(f[2])), `"`)
		t.Run(name, func(t *testing.T) {
			for _, prog := range []string{"consumer", "trainer train"} {
				w := workload{where: "config.yaml comment", prog: prog, env: map[string]string{name: value}}
				w.check(t, flags)
			}
			if name != "VIGIL_KAFKA_SASL_PASSWORD_FILE" {
				return
			}
			sec := m.find("Secret", "vigil-kafka-sasl")
			if sec == nil {
				t.Fatal("no Secret vigil-kafka-sasl")
			}
			if _, ok := sec.StringData[path.Base(value)]; !ok {
				t.Errorf("%s=%s: Secret %s has no key %s", name, value, sec.Metadata.Name, path.Base(value))
			}
			for _, b := range []string{"consumer", "trainer"} {
				if dir := mountedSecret(t, m, b, sec.Metadata.Name); dir != path.Dir(value) {
					t.Errorf("%s=%s: the %s pods mount Secret %s at %q", name, value, b, sec.Metadata.Name, dir)
				}
			}
		})
	}
}

func TestK8sSecurity(t *testing.T) {
	m := loadK8s(t)
	for _, p := range m.pods(t) {
		for _, c := range append(p.tmpl.Spec.InitContainers, p.tmpl.Spec.Containers...) {
			t.Run(p.obj.String()+" "+c.Name, func(t *testing.T) {
				nonRoot := c.SecurityContext.RunAsNonRoot
				if nonRoot == nil {
					nonRoot = p.tmpl.Spec.SecurityContext.RunAsNonRoot
				}
				if nonRoot == nil || !*nonRoot {
					t.Errorf("runAsNonRoot is not set")
				}
				user := c.SecurityContext.RunAsUser
				if user == nil {
					user = p.tmpl.Spec.SecurityContext.RunAsUser
				}
				if user == nil || *user == 0 {
					t.Errorf("no numeric non-zero runAsUser: the kubelet cannot verify a named image user is non-root")
				}
				if a := c.SecurityContext.AllowPrivilegeEscalation; a == nil || *a {
					t.Errorf("allowPrivilegeEscalation is not false")
				}
				if !slices.Contains(c.SecurityContext.Capabilities.Drop, "ALL") {
					t.Errorf("capabilities are not dropped")
				}
				if binaryOf(c.Image) != "" {
					if r := c.SecurityContext.ReadOnlyRootFilesystem; r == nil || !*r {
						t.Errorf("readOnlyRootFilesystem is not true")
					}
					if user != nil && *user != 65532 {
						t.Errorf("runAsUser %d, the images' user is 65532", *user)
					}
				}
				if !pinned(c.Image) {
					t.Errorf("image %s is not pinned to a tag", c.Image)
				}
			})
		}
	}
}

// checkResources requires CPU and memory requests and a memory limit, with
// requests no larger than limits.
func checkResources(t *testing.T, c container) {
	t.Helper()
	for _, r := range []string{"cpu", "memory"} {
		req, ok := c.Resources.Requests[r]
		if !ok {
			t.Errorf("container %s: no %s request", c.Name, r)
			continue
		}
		lim, ok := c.Resources.Limits[r]
		if !ok {
			if r == "memory" {
				t.Errorf("container %s: no memory limit", c.Name)
			}
			continue
		}
		if q(t, req) > q(t, lim) {
			t.Errorf("container %s: %s request %s above its limit %s", c.Name, r, req, lim)
		}
	}
}

var quantity = regexp.MustCompile(`^([0-9.]+)([a-zA-Z]*)$`)

// q parses a Kubernetes quantity (and GOMEMLIMIT's units) to a number.
func q(t *testing.T, s string) float64 {
	t.Helper()
	m := quantity.FindStringSubmatch(s)
	if m == nil {
		t.Fatalf("quantity %q", s)
	}
	n, err := strconv.ParseFloat(m[1], 64)
	if err != nil {
		t.Fatalf("quantity %q: %v", s, err)
	}
	mult := map[string]float64{
		"": 1, "m": 1e-3, "k": 1e3, "M": 1e6, "G": 1e9, "T": 1e12,
		"Ki": 1 << 10, "Mi": 1 << 20, "Gi": 1 << 30, "Ti": 1 << 40,
		"B": 1, "KiB": 1 << 10, "MiB": 1 << 20, "GiB": 1 << 30, "TiB": 1 << 40,
	}
	f, ok := mult[m[2]]
	if !ok {
		t.Fatalf("quantity %q: unknown unit %q", s, m[2])
	}
	return n * f
}
