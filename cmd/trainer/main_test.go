package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func runCmd(args ...string) (int, string, string) {
	var out, errb bytes.Buffer
	code := run(context.Background(), args, &out, &errb)
	return code, out.String(), errb.String()
}

func TestExitCodes(t *testing.T) {
	dir := t.TempDir()
	csv := filepath.Join(dir, "tiny.csv")
	var b strings.Builder
	b.WriteString("timestamp,value\n")
	t0 := time.Date(2024, 1, 2, 0, 0, 0, 0, time.UTC)
	for i := range 700 {
		fmt.Fprintf(&b, "%s,%.4f\n", t0.Add(time.Duration(i)*time.Minute).Format("2006-01-02 15:04:05"), 40+2*math.Sin(float64(i)/20))
	}
	if err := os.WriteFile(csv, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	models := filepath.Join(dir, "models")
	common := []string{"-files=" + csv, "-models.dir=" + models, "-model.hidden=4", "-model.epochs=2", "-log.level=error"}
	tests := []struct {
		name string
		args []string
		code int
		want string // in stdout or stderr
	}{
		{"no command", nil, exitUsage, "usage: trainer"},
		{"unknown command", []string{"fly"}, exitUsage, `unknown command "fly"`},
		{"bad flag", []string{"train", "-nope"}, exitUsage, "flag provided but not defined"},
		{"bad value", []string{"train", "-files=x", "-from=yesterday"}, exitUsage, "-from"},
		{"no data", []string{"train", "-files=" + filepath.Join(dir, "missing.csv"), "-models.dir=" + models}, exitUsage, "no training data"},
		{"too little data", append([]string{"train", "-min-readings=5000"}, common...), exitUsage, "no series with at least 5000"},
		{"dry run", append([]string{"train", "-dry-run"}, common...), exitOK, `"decision": "not published (dry run)"`},
		{"first run promotes", append([]string{"train", "-report=" + filepath.Join(dir, "r.html")}, common...), exitOK, `"decision": "promoted"`},
		{"rollback without an older version", []string{"rollback", "-model=default", "-models.dir=" + models}, exitFailure, "no version older"},
		{"forced second run", append([]string{"train", "-force"}, common...), exitOK, `"promoted": 1`},
		{"rollback", []string{"rollback", "-model=default", "-models.dir=" + models}, exitOK, `"to":1`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, out, errs := runCmd(tc.args...)
			if code != tc.code || !strings.Contains(out+errs, tc.want) {
				t.Fatalf("exit %d (want %d); output lacks %q:\n%s\n%s", code, tc.code, tc.want, out, errs)
			}
			if strings.HasPrefix(out, "{") {
				var v map[string]any
				if err := json.Unmarshal([]byte(out), &v); err != nil {
					t.Fatalf("summary is not JSON: %v\n%s", err, out)
				}
			}
		})
	}
	if st, err := os.Stat(filepath.Join(dir, "r.html")); err != nil || st.Size() < 10000 {
		t.Fatalf("report: %v", err)
	}
}
