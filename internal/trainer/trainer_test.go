package trainer_test

import (
	"context"
	"errors"
	"flag"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest"

	"github.com/vigil-stream/vigil/internal/detect"
	"github.com/vigil-stream/vigil/internal/kafkatest"
	"github.com/vigil-stream/vigil/internal/model"
	"github.com/vigil-stream/vigil/internal/modelstore"
	"github.com/vigil-stream/vigil/internal/nab"
	"github.com/vigil-stream/vigil/internal/replay"
	"github.com/vigil-stream/vigil/internal/trainer"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m, kafkatest.LeakOptions()...)
}

var start = time.Date(2024, 5, 1, 0, 0, 0, 0, time.UTC)

// smallConfig is a fast training run: tiny network, few epochs.
func smallConfig(t *testing.T, dir string) *trainer.Config {
	t.Helper()
	var cfg trainer.Config
	fs := flag.NewFlagSet("test", flag.ContinueOnError)
	cfg.RegisterFlags(fs)
	cfg.Store.Dir = dir
	cfg.Train.Hidden = []int{8}
	cfg.Train.Epochs = 3
	cfg.MinReadings = 300
	cfg.Detect.Threshold.WarmUp = 70
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	return &cfg
}

func data(series ...model.Series) *trainer.Data {
	d := &trainer.Data{Series: series, Excluded: map[string][]trainer.Span{}, Read: map[string]int{}, Dropped: map[string]int{}, Source: "test"}
	for _, s := range series {
		d.Read[s.ID] = len(s.Values)
	}
	return d
}

func TestChampionChallenger(t *testing.T) {
	dir := t.TempDir()
	store, err := modelstore.Open(modelstore.Config{Dir: dir, Keep: 5})
	if err != nil {
		t.Fatal(err)
	}
	log := zaptest.NewLogger(t, zaptest.Level(zap.WarnLevel))
	series := replay.Synthetic(3, 600, start, time.Minute, 21)
	short := replay.Synthetic(1, 100, start, time.Minute, 22)
	short[0].ID = "short"
	ctx := context.Background()

	// First run: no champion, the challenger is promoted; the short series
	// is skipped and listed.
	cfg := smallConfig(t, dir)
	sum, err := trainer.Run(ctx, cfg, data(append(series, short...)...), store, nil, log, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(sum.Models) != 1 || sum.Models[0].Decision != trainer.Promoted || sum.Promoted != 1 {
		t.Fatalf("first run: %+v", sum.Models)
	}
	if len(sum.Skipped) != 1 || sum.Skipped[0].ID != "short" {
		t.Fatalf("skipped %+v", sum.Skipped)
	}
	m, err := store.Current("default")
	if err != nil || m.Version != 1 {
		t.Fatalf("store: %v %v", m, err)
	}
	if m.Threshold.PriorAll.Count == 0 || len(m.Threshold.Priors) != 3 {
		t.Fatalf("the published model has no threshold priors: %+v", m.Threshold)
	}

	// A much weaker challenger (one epoch of a 2-unit network) is not
	// promoted; with -force it is; a dry run publishes nothing.
	weak := smallConfig(t, dir)
	weak.Train.Hidden, weak.Train.Epochs = []int{2}, 1
	sum, err = trainer.Run(ctx, weak, data(series...), store, nil, log, nil)
	if err != nil {
		t.Fatal(err)
	}
	mr := sum.Models[0]
	if mr.Decision != trainer.KeptChampion || mr.Champion == nil || !strings.Contains(mr.Reason, "worse") {
		t.Fatalf("weak challenger: %s (%s)", mr.Decision, mr.Reason)
	}
	if v, _ := store.CurrentVersion("default"); v != 1 {
		t.Fatalf("a worse challenger was published: v%d", v)
	}
	dry := smallConfig(t, dir)
	dry.DryRun = true
	if sum, err = trainer.Run(ctx, dry, data(series...), store, nil, log, nil); err != nil || sum.Models[0].Decision != trainer.DryRun {
		t.Fatalf("dry run: %+v %v", sum.Models, err)
	}
	weak.Force = true
	if sum, err = trainer.Run(ctx, weak, data(series...), store, nil, log, nil); err != nil || sum.Models[0].Decision != trainer.Forced {
		t.Fatalf("forced: %+v %v", sum.Models, err)
	}
	if v, _ := store.CurrentVersion("default"); v != 2 {
		t.Fatalf("forced challenger not in service: v%d", v)
	}
}

func TestNoData(t *testing.T) {
	cfg := smallConfig(t, t.TempDir())
	store, _ := modelstore.Open(cfg.Store)
	_, err := trainer.Run(context.Background(), cfg, data(replay.Synthetic(1, 50, start, time.Minute, 1)...), store, nil, zap.NewNop(), nil)
	if !errors.Is(err, trainer.ErrNoData) {
		t.Fatalf("err = %v, want ErrNoData", err)
	}
}

func TestGroupsAndLabels(t *testing.T) {
	cfg := smallConfig(t, t.TempDir())
	cfg.DryRun = true
	cfg.PerSeries = true
	series := replay.Synthetic(2, 400, start, time.Minute, 3)
	series[0].ID, series[1].ID = "plant-1/pump 7", "plant-2/fan"
	d := data(series...)
	trainer.ExcludeLabels(d, map[string][]nab.Window{"plant-2/fan": {{Start: start.Add(10 * time.Minute), End: start.Add(19 * time.Minute)}}})
	if d.Dropped["label window"] != 10 || len(d.Series[1].Values) != 390 {
		t.Fatalf("label exclusion: dropped %v, %d left", d.Dropped, len(d.Series[1].Values))
	}
	sum, err := trainer.Run(context.Background(), cfg, d, nil, nil, zap.NewNop(), nil)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, m := range sum.Models {
		names = append(names, m.Name)
	}
	if strings.Join(names, ",") != "plant-1_pump_7,plant-2_fan" {
		t.Fatalf("models %v", names)
	}

	// Routes group series as the consumer routes them, tags included.
	cfg.PerSeries = false
	routes, err := detect.ParseRoutes("glob:plant-1/*=>pumps;tag:kind=fan=>fans")
	if err != nil {
		t.Fatal(err)
	}
	cfg.Routing.Routes = routes
	d.Tags = map[string]map[string]string{"plant-2/fan": {"kind": "fan"}}
	if sum, err = trainer.Run(context.Background(), cfg, d, nil, nil, zap.NewNop(), nil); err != nil {
		t.Fatal(err)
	}
	names = names[:0]
	for _, m := range sum.Models {
		names = append(names, m.Name)
	}
	if strings.Join(names, ",") != "fans,pumps" {
		t.Fatalf("models %v", names)
	}
}

func newFlagSet() *flag.FlagSet { return flag.NewFlagSet("test", flag.ContinueOnError) }
