package main

import (
	"context"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap"

	"github.com/vigil-stream/vigil/internal/kafkatest"
	"github.com/vigil-stream/vigil/internal/modelstore"
)

// TestModelTopic trains with -models.topic: the model lands on the topic
// too, where a consumer's TopicWatcher finds it; a rollback republishes the
// older version there.
func TestModelTopic(t *testing.T) {
	topic := kafkatest.Topic(t, "models", 1, kafkatest.WithConfig("cleanup.policy", "compact"))
	brokers := strings.Join(kafkatest.Brokers(t), ",")
	dir := t.TempDir()
	csv := filepath.Join(dir, "s.csv")
	var b strings.Builder
	b.WriteString("timestamp,value\n")
	t0 := time.Date(2024, 1, 2, 0, 0, 0, 0, time.UTC)
	for i := range 700 {
		fmt.Fprintf(&b, "%s,%.4f\n", t0.Add(time.Duration(i)*time.Minute).Format("2006-01-02 15:04:05"), 40+2*math.Sin(float64(i)/20))
	}
	if err := os.WriteFile(csv, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	args := []string{"train", "-files=" + csv, "-models.dir=" + filepath.Join(dir, "models"), "-models.topic=" + topic,
		"-kafka.brokers=" + brokers, "-model.hidden=4", "-model.epochs=2", "-log.level=error", "-force"}
	for range 2 {
		if code, out, errs := runCmd(args...); code != exitOK {
			t.Fatalf("train: exit %d\n%s\n%s", code, out, errs)
		}
	}
	client := kafkatest.Client(t)
	tw := modelstore.NewTopicWatcher(client, topic, zap.NewNop(), nil)
	if err := tw.CatchUp(context.Background()); err != nil {
		t.Fatal(err)
	}
	if m := tw.Snapshot()["default"]; m == nil || m.Version != 2 {
		t.Fatalf("topic serves %v, want default v2", m)
	}
	if code, out, errs := runCmd("rollback", "-model=default", "-models.dir="+filepath.Join(dir, "models"), "-models.topic="+topic, "-kafka.brokers="+brokers); code != exitOK {
		t.Fatalf("rollback: exit %d\n%s\n%s", code, out, errs)
	}
	if err := tw.CatchUp(context.Background()); err != nil {
		t.Fatal(err)
	}
	if m := tw.Snapshot()["default"]; m.Version != 1 {
		t.Fatalf("after rollback the topic serves v%d, want v1", m.Version)
	}
}
