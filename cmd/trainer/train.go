package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/vigil-stream/vigil/internal/avrocodec"
	"github.com/vigil-stream/vigil/internal/kafkaconn"
	"github.com/vigil-stream/vigil/internal/logging"
	"github.com/vigil-stream/vigil/internal/model"
	"github.com/vigil-stream/vigil/internal/modelstore"
	"github.com/vigil-stream/vigil/internal/nab"
	"github.com/vigil-stream/vigil/internal/trainer"
)

// runTrain is `trainer train`.
func runTrain(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	var (
		logCfg   logging.Config
		kafkaCfg kafkaconn.Config
		codecCfg avrocodec.Config
		cfg      trainer.Config
	)
	fs := trainFlags(&logCfg, &kafkaCfg, &codecCfg, &cfg)
	fs.SetOutput(stderr)
	if code, ok := parse(fs, args, stdout, stderr, &logCfg, &kafkaCfg, &codecCfg, &cfg); !ok {
		return code
	}
	log, err := logging.New(logCfg, stderr)
	if err != nil {
		fmt.Fprintln(stderr, "trainer train:", err)
		return exitUsage
	}
	defer func() { _ = log.Sync() }()

	var data *trainer.Data
	if len(cfg.Files) > 0 {
		data, err = trainer.LoadFiles(cfg.Files)
	} else {
		var codec *avrocodec.Codec
		codec, err = avrocodec.Open(codecCfg, log)
		if err != nil {
			log.Error("codec", logging.Err(err))
			return exitUsage
		}
		defer codec.Close()
		if err := kafkaCfg.Check(ctx); err != nil {
			log.Error("cannot use the Kafka cluster", logging.Err(err))
			return kafkaconn.ExitCode(err)
		}
		from, to := cfg.Range(time.Now())
		client := kafkaCfg.Client(kafkaCfg.Transport(), 30*time.Second)
		data, err = trainer.LoadKafka(ctx, client, codec, &cfg, from, to, log)
	}
	if err != nil {
		log.Error("reading the training data failed", logging.Err(err))
		if errors.Is(err, trainer.ErrNoData) {
			return exitUsage
		}
		return exitFailure
	}
	if cfg.Labels != "" {
		windows, err := nab.LoadWindows(cfg.Labels)
		if err != nil {
			log.Error("labels", logging.Err(err))
			return exitUsage
		}
		trainer.ExcludeLabels(data, windows)
	}
	store, err := modelstore.Open(cfg.Store)
	if err != nil {
		log.Error("model store", logging.Err(err))
		return exitFailure
	}
	var sink trainer.Sink
	if cfg.Store.Topic != "" {
		w := kafkaCfg.Writer(kafkaCfg.Transport(), nil, kafkaconn.DefaultLinger)
		w.BatchBytes = 64 << 20 // one artifact is one record
		defer func() { _ = w.Close() }()
		sink = func(ctx context.Context, m *model.Model) error {
			return modelstore.PublishTopic(ctx, w, cfg.Store.Topic, m)
		}
	}
	sum, runErr := trainer.Run(ctx, &cfg, data, store, sink, log, progressReporter(stderr, log))
	if sum != nil {
		if cfg.Report != "" {
			if err := writeReport(cfg.Report, &cfg, sum); err != nil {
				log.Error("report", logging.Err(err))
			} else {
				log.Info("report written", logging.String("path", cfg.Report))
			}
		}
		if code := writeSummary(cfg.Summary, stdout, sum, stderr); code != exitOK {
			return code
		}
	}
	switch {
	case errors.Is(runErr, trainer.ErrNoData):
		log.Error("nothing to train", logging.Err(runErr))
		return exitUsage
	case runErr != nil:
		log.Error("training failed for some models", logging.Err(runErr))
		return exitFailure
	case sum.Promoted == 0 && !cfg.DryRun:
		log.Warn("no model promoted")
		return exitNoPromoted
	}
	return exitOK
}

// trainFlags registers every flag of `trainer train` on a new FlagSet; the
// generated deploy/config/trainer.example.yaml shares it.
func trainFlags(logCfg *logging.Config, kafkaCfg *kafkaconn.Config, codecCfg *avrocodec.Config, cfg *trainer.Config) *flag.FlagSet {
	fs := flag.NewFlagSet("trainer train", flag.ContinueOnError)
	logCfg.RegisterFlags(fs)
	kafkaCfg.RegisterFlags(fs, "kafka.")
	codecCfg.RegisterFlags(fs)
	cfg.RegisterFlags(fs)
	return fs
}

// progressReporter draws a progress bar with an ETA on a terminal and logs
// one structured line per epoch otherwise.
func progressReporter(stderr io.Writer, log *zap.Logger) func(string, model.EpochStats) {
	f, ok := stderr.(*os.File)
	tty := false
	if ok {
		if st, err := f.Stat(); err == nil && st.Mode()&os.ModeCharDevice != 0 {
			tty = true
		}
	}
	var start time.Time
	var current string
	return func(name string, e model.EpochStats) {
		if name != current || e.Epoch == 1 {
			current, start = name, time.Now().Add(-e.Duration)
		}
		if !tty {
			log.Info("epoch", zap.String("model", name), zap.Int("epoch", e.Epoch), zap.Int("epochs", e.Epochs),
				zap.Float64("train_loss", e.TrainLoss), zap.Float64("val_loss", e.ValLoss), zap.Bool("best", e.Best),
				zap.Duration("took", e.Duration))
			return
		}
		const width = 30
		done := e.Epoch * width / max(1, e.Epochs)
		elapsed := time.Since(start)
		eta := time.Duration(float64(elapsed) / float64(e.Epoch) * float64(e.Epochs-e.Epoch)).Round(time.Second)
		fmt.Fprintf(f, "\r%-20s [%s%s] epoch %d/%d  train %.4g  val %.4g  ETA %s (at most; early stopping may end sooner) ",
			name, strings.Repeat("█", done), strings.Repeat("░", width-done), e.Epoch, e.Epochs, e.TrainLoss, e.ValLoss, eta)
		if e.Epoch == e.Epochs {
			fmt.Fprintln(f)
		}
	}
}
