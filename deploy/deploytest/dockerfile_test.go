package deploytest

import (
	"bufio"
	"bytes"
	"encoding/json"
	"path"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// instruction is one Dockerfile instruction, continuation lines joined.
type instruction struct {
	Cmd  string // upper case: FROM, RUN, COPY…
	Args string
	Line int
}

// stage is one FROM and the instructions after it.
type stage struct {
	Name, Image string
	Line        int
	Ins         []instruction
}

func (s *stage) all(cmd string) []instruction {
	var out []instruction
	for _, in := range s.Ins {
		if in.Cmd == cmd {
			out = append(out, in)
		}
	}
	return out
}

// parseDockerfile splits a Dockerfile into stages. Comments and parser
// directives are dropped; a trailing backslash continues a line.
func parseDockerfile(t *testing.T, b []byte) []*stage {
	t.Helper()
	var stages []*stage
	sc := bufio.NewScanner(bytes.NewReader(b))
	var buf strings.Builder
	start, n := 0, 0
	for sc.Scan() {
		n++
		line := strings.TrimSpace(sc.Text())
		if buf.Len() == 0 {
			if line == "" || strings.HasPrefix(line, "#") {
				continue
			}
			start = n
		} else if strings.HasPrefix(line, "#") {
			continue // comments inside a continued instruction
		}
		if cont, ok := strings.CutSuffix(line, `\`); ok {
			buf.WriteString(cont + " ")
			continue
		}
		buf.WriteString(line)
		text := buf.String()
		buf.Reset()
		cmd, args, _ := strings.Cut(text, " ")
		in := instruction{Cmd: strings.ToUpper(cmd), Args: strings.TrimSpace(args), Line: start}
		if in.Cmd == "FROM" {
			f := strings.Fields(in.Args)
			var rest []string
			for _, w := range f {
				if !strings.HasPrefix(w, "--") {
					rest = append(rest, w)
				}
			}
			s := &stage{Image: rest[0], Line: start}
			if len(rest) == 3 && strings.EqualFold(rest[1], "AS") {
				s.Name = rest[2]
			}
			stages = append(stages, s)
			continue
		}
		if len(stages) == 0 {
			if in.Cmd != "ARG" {
				t.Fatalf("Dockerfile:%d: %s before the first FROM", start, in.Cmd)
			}
			continue
		}
		stages[len(stages)-1].Ins = append(stages[len(stages)-1].Ins, in)
	}
	if buf.Len() > 0 {
		t.Fatal("Dockerfile ends in a continued line")
	}
	return stages
}

// pinned reports whether an image reference names a fixed tag or digest.
func pinned(image string) bool {
	if strings.Contains(image, "@sha256:") {
		return true
	}
	i := strings.LastIndex(image, ":")
	if i < 0 || strings.Contains(image[i:], "/") {
		return false
	}
	tag := image[i+1:]
	return tag != "" && tag != "latest" && !strings.Contains(tag, "$")
}

// copyInstr is a parsed COPY: its --from and --chown, sources and target.
type copyInstr struct {
	From, Chown string
	Srcs        []string
	Dst         string
}

func parseCopy(args string) copyInstr {
	var c copyInstr
	var rest []string
	for _, w := range strings.Fields(args) {
		switch {
		case strings.HasPrefix(w, "--from="):
			c.From = strings.TrimPrefix(w, "--from=")
		case strings.HasPrefix(w, "--chown="):
			c.Chown = strings.TrimPrefix(w, "--chown=")
		case strings.HasPrefix(w, "--"):
		default:
			rest = append(rest, w)
		}
	}
	if len(rest) > 0 {
		c.Srcs, c.Dst = rest[:len(rest)-1], rest[len(rest)-1]
	}
	return c
}

// images are the final stages: one per binary, named after it.
var images = []string{"consumer", "trainer", "replay", "tail"}

func loadDockerfile(t *testing.T) (build *stage, finals map[string]*stage, all []*stage) {
	t.Helper()
	all = parseDockerfile(t, readRepoFile(t, "Dockerfile"))
	finals = map[string]*stage{}
	for _, s := range all {
		for _, img := range images {
			if s.Name == img {
				finals[img] = s
			}
		}
		if strings.HasPrefix(s.Image, "golang:") {
			if build != nil {
				t.Fatalf("Dockerfile:%d: a second Go build stage", s.Line)
			}
			build = s
		}
	}
	if build == nil {
		t.Fatal("Dockerfile: no build stage FROM golang:…")
	}
	return build, finals, all
}

var goDirective = regexp.MustCompile(`(?m)^go (\d+\.\d+)`)

func TestDockerfileBuildStage(t *testing.T) {
	build, _, all := loadDockerfile(t)
	runs, env := "", ""
	for _, in := range build.all("RUN") {
		runs += in.Args + "\n"
	}
	for _, in := range build.all("ENV") {
		env += in.Args + " "
	}
	m := goDirective.FindSubmatch(readRepoFile(t, "go.mod"))
	if m == nil {
		t.Fatal("go.mod has no go directive")
	}
	tests := []struct {
		name string
		ok   bool
		msg  string
	}{
		{"Go matches go.mod", strings.HasPrefix(strings.TrimPrefix(build.Image, "golang:"), string(m[1])),
			"build stage FROM " + build.Image + ", go.mod says go " + string(m[1])},
		{"static", strings.Contains(env+runs, "CGO_ENABLED=0"), "the build stage must set CGO_ENABLED=0 (static binaries for distroless static)"},
		{"trimpath", strings.Contains(runs, "-trimpath"), "go build without -trimpath"},
		{"stripped", strings.Contains(runs, "-s -w"), "go build without -ldflags='-s -w'"},
	}
	for _, pkg := range images {
		tests = append(tests, struct {
			name string
			ok   bool
			msg  string
		}{"builds " + pkg, strings.Contains(runs, "./cmd/"+pkg), "the build stage does not build ./cmd/" + pkg})
	}
	for _, s := range all {
		tests = append(tests, struct {
			name string
			ok   bool
			msg  string
		}{"pinned " + s.Image, pinned(s.Image), "Dockerfile:" + strconv.Itoa(s.Line) + ": FROM " + s.Image + " is not pinned to a tag or digest"})
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if !tc.ok {
				t.Error(tc.msg)
			}
		})
	}
}

func TestDockerfileImages(t *testing.T) {
	build, finals, _ := loadDockerfile(t)
	// Where the build stage writes the binaries: go build -o DIR/.
	out := regexp.MustCompile(`go build [^\n]*-o (\S+)`).FindStringSubmatch(func() string {
		s := ""
		for _, in := range build.all("RUN") {
			s += in.Args + "\n"
		}
		return s
	}())
	if out == nil {
		t.Fatal("the build stage has no `go build -o DIR/`")
	}
	outDir := strings.TrimSuffix(out[1], "/")
	adminPort := port(t, realFlags(t)["consumer"]["admin.addr"].Default)

	for _, img := range images {
		t.Run(img, func(t *testing.T) {
			s, ok := finals[img]
			if !ok {
				t.Fatalf("no stage named %q: `docker build --target %s` fails", img, img)
			}
			if !strings.HasPrefix(s.Image, "gcr.io/distroless/static") {
				t.Errorf("FROM %s: want distroless static (CA certificates, no shell)", s.Image)
			}
			if r := s.all("RUN"); len(r) > 0 {
				t.Errorf("Dockerfile:%d: RUN in the final stage (there is no shell)", r[0].Line)
			}
			users := s.all("USER")
			switch {
			case len(users) > 0:
				u := users[len(users)-1].Args
				if u != "nonroot" && !strings.HasPrefix(u, "65532") {
					t.Errorf("USER %s: want the nonroot user 65532", u)
				}
			case !strings.HasSuffix(s.Image, ":nonroot"):
				t.Errorf("neither USER nor a :nonroot base: the image runs as root")
			}
			eps := s.all("ENTRYPOINT")
			if len(eps) != 1 {
				t.Fatalf("%d ENTRYPOINTs, want 1", len(eps))
			}
			var ep []string
			if err := json.Unmarshal([]byte(eps[0].Args), &ep); err != nil || len(ep) == 0 {
				t.Fatalf("ENTRYPOINT %s: want the exec form [\"/path/%s\"] (no shell to run the shell form)", eps[0].Args, img)
			}
			binary := ""
			for _, in := range s.all("COPY") {
				c := parseCopy(in.Args)
				if c.From != build.Name {
					t.Errorf("Dockerfile:%d: COPY from %q: final stages take only the build stage's output", in.Line, c.From)
				}
				for _, src := range c.Srcs {
					switch {
					case src == outDir+"/"+img:
						binary = c.Dst
						if strings.HasSuffix(c.Dst, "/") {
							binary = c.Dst + img
						}
					case path.Base(src) == "models" && c.Chown != "":
					default:
						t.Errorf("Dockerfile:%d: COPY %s: the %s image carries its binary only (and an empty model directory)", in.Line, src, img)
					}
				}
			}
			if binary == "" {
				t.Fatalf("the stage does not copy %s/%s from the build stage", outDir, img)
			}
			if ep[0] != binary {
				t.Errorf("ENTRYPOINT %s, but the binary is copied to %s", ep[0], binary)
			}
			var exposed []string
			for _, in := range s.all("EXPOSE") {
				exposed = append(exposed, strings.Fields(in.Args)...)
			}
			want := []string(nil)
			if img == "consumer" {
				want = []string{strconv.Itoa(adminPort)}
			}
			if strings.Join(exposed, ",") != strings.Join(want, ",") {
				t.Errorf("EXPOSE %v, want %v (the consumer's -admin.addr default)", exposed, want)
			}
		})
	}
}

// imageDirs returns the directories an image creates owned by nonroot
// (COPY --chown), which a new named volume mounted there inherits.
func imageDirs(t *testing.T, img string) map[string]bool {
	t.Helper()
	_, finals, _ := loadDockerfile(t)
	dirs := map[string]bool{}
	if s, ok := finals[img]; ok {
		for _, in := range s.all("COPY") {
			if c := parseCopy(in.Args); strings.HasPrefix(c.Chown, "65532") || strings.HasPrefix(c.Chown, "nonroot") {
				dirs[strings.TrimSuffix(c.Dst, "/")] = true
			}
		}
	}
	return dirs
}

func TestDockerignore(t *testing.T) {
	var patterns []string
	for _, l := range strings.Split(string(readRepoFile(t, ".dockerignore")), "\n") {
		if l = strings.TrimSpace(l); l != "" && !strings.HasPrefix(l, "#") {
			patterns = append(patterns, strings.TrimPrefix(l, "/"))
		}
	}
	ignored := func(p string) bool {
		for _, pat := range patterns {
			if ok, _ := path.Match(pat, p); ok {
				return true
			}
		}
		return false
	}
	for _, tc := range []struct {
		path   string
		ignore bool
	}{
		{".git", true},
		{".cache", true}, // the Kafka release and Maven cache
		{"bin", true},
		{"out", true},
		{"go.mod", false},
		{"go.sum", false},
		{"cmd", false},
		{"internal", false},
		{"schemas", false}, // embedded
	} {
		t.Run(tc.path, func(t *testing.T) {
			if got := ignored(tc.path); got != tc.ignore {
				t.Errorf(".dockerignore ignores %s: %v, want %v", tc.path, got, tc.ignore)
			}
		})
	}
}
