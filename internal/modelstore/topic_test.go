package modelstore_test

import (
	"context"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/segmentio/kafka-go"
	"go.uber.org/zap/zaptest"

	"github.com/vigil-stream/vigil/internal/kafkatest"
	"github.com/vigil-stream/vigil/internal/modelstore"
)

// TestTopicWatcher publishes model versions to a compacted topic on a real
// broker: the watcher serves the last good record per name, and a damaged
// record leaves the model in service serving.
func TestTopicWatcher(t *testing.T) {
	topic := kafkatest.Topic(t, "models", 1, kafkatest.WithConfig("cleanup.policy", "compact"))
	ctx := context.Background()
	w := kafkatest.Writer(t)
	for _, m := range []int64{1, 2} {
		if err := modelstore.PublishTopic(ctx, w, topic, tinyModel(t, "pumps", m)); err != nil {
			t.Fatal(err)
		}
	}
	if err := modelstore.PublishTopic(ctx, w, topic, tinyModel(t, "fans", 7)); err != nil {
		t.Fatal(err)
	}
	client := kafkatest.Client(t)
	reg := prometheus.NewRegistry()
	tw := modelstore.NewTopicWatcher(client, topic, zaptest.NewLogger(t), reg)
	if err := tw.CatchUp(ctx); err != nil {
		t.Fatal(err)
	}
	snap := tw.Snapshot()
	if snap["pumps"].Version != 2 || snap["fans"].Version != 7 {
		t.Fatalf("snapshot %v", snap)
	}
	// A damaged record and one keyed under the wrong name are rejected.
	kafkatest.Produce(t, w,
		kafka.Message{Topic: topic, Key: []byte("pumps"), Value: []byte("not an artifact")},
	)
	if err := modelstore.PublishTopic(ctx, w, topic, tinyModel(t, "pumps", 3)); err != nil {
		t.Fatal(err)
	}
	if err := modelstore.PublishTopic(ctx, w, topic, tinyModel(t, "fans", 8)); err != nil {
		t.Fatal(err)
	}
	// A record keyed "pumps" that holds a fans model.
	kafkatest.Produce(t, w, kafka.Message{Topic: topic, Key: []byte("pumps"), Value: mustSave(t, tinyModel(t, "fans", 9))})
	if err := tw.CatchUp(ctx); err != nil {
		t.Fatal(err)
	}
	snap = tw.Snapshot()
	if snap["pumps"].Version != 3 || snap["fans"].Version != 8 {
		t.Fatalf("after updates: pumps v%d fans v%d", snap["pumps"].Version, snap["fans"].Version)
	}
	if got := testutil.ToFloat64(tw.Failures().WithLabelValues("pumps")); got != 2 {
		t.Fatalf("failures for pumps = %v, want 2", got)
	}
}
