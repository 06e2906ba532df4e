package stream

import (
	"context"
	"fmt"
	"math"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/segmentio/kafka-go"
	"go.uber.org/zap"

	"github.com/vigil-stream/vigil/internal/avrocodec"
	"github.com/vigil-stream/vigil/internal/detect"
	"github.com/vigil-stream/vigil/internal/dynthreshold"
	"github.com/vigil-stream/vigil/internal/record"
)

// Dead-letter headers. The record itself is forwarded unchanged.
const (
	HeaderDLQReason    = "vigil.dlq.reason"    // stable label: malformed, unknown_schema, out_of_order, …
	HeaderDLQError     = "vigil.dlq.error"     // human-readable detail
	HeaderDLQTopic     = "vigil.dlq.topic"     // source topic
	HeaderDLQPartition = "vigil.dlq.partition" // source partition (decimal)
	HeaderDLQOffset    = "vigil.dlq.offset"    // source offset (decimal)
	HeaderDLQTimestamp = "vigil.dlq.timestamp" // source record timestamp (RFC 3339)
)

// Codec is what the detection processor needs of avrocodec.
type Codec interface {
	DecodeReading(ctx context.Context, payload []byte) (record.Reading, error)
	EncodeEvent(ctx context.Context, dst []byte, e *record.Event) ([]byte, error)
	EncodeScore(ctx context.Context, dst []byte, s *record.Score) ([]byte, error)
}

var _ Codec = (*avrocodec.Codec)(nil)

// Detection makes the Processors that run Vigil's detection path
// (package detect) over each input partition and turn its outcomes into
// anomaly events, score records and dead letters.
type Detection struct {
	cfg    detect.Config
	codec  Codec
	models detect.Models
	limit  *detect.Limiter
	events string
	scores string // "" disables score records
	dlq    string
	log    *zap.Logger
	m      *detectionMetrics
	now    func() time.Time

	limitLogged atomic.Int64 // Unix seconds of the last series-limit error log
}

// warnLimit logs, at most once a minute, that new series are being
// dead-lettered because the instance holds its maximum.
func (d *Detection) warnLimit(err error) {
	now := d.now().Unix()
	last := d.limitLogged.Load()
	if now-last < 60 || !d.limitLogged.CompareAndSwap(last, now) {
		return
	}
	d.log.Error("series limit reached: readings of new series go to the dead-letter topic (raise detect.max-series or add instances)",
		zap.Int64("live_series", d.limit.Live()), zap.Error(err))
}

// DetectionTopics names the output topics of the detection processors.
type DetectionTopics struct {
	Events, Scores, DLQ string
}

var _ ProcessorFactory = (*Detection)(nil)

// NewDetection returns the factory of detection processors.
func NewDetection(cfg detect.Config, codec Codec, models detect.Models, topics DetectionTopics, logger *zap.Logger, reg prometheus.Registerer) (*Detection, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return &Detection{
		cfg: cfg, codec: codec, models: models, limit: detect.NewLimiter(cfg.MaxSeries),
		events: topics.Events, scores: topics.Scores, dlq: topics.DLQ,
		log: logger, m: newDetectionMetrics(reg), now: time.Now,
	}, nil
}

// LiveSeries returns the number of series held by this instance.
func (d *Detection) LiveSeries() int64 { return d.limit.Live() }

// NewProcessor returns the processor of one input partition.
func (d *Detection) NewProcessor(topic string, partition int) (Processor, error) {
	eng, err := detect.NewEngine(d.cfg, d.models, d.limit)
	if err != nil {
		return nil, err
	}
	return &detectionProcessor{d: d, eng: eng, topic: topic, partition: partition}, nil
}

type detectionProcessor struct {
	d         *Detection
	eng       *detect.Engine
	topic     string
	partition int

	inputs   []detect.Input
	recIdx   []int // inputs[i] came from recs[recIdx[i]]
	outcomes []detect.Outcome

	// The keys and values of a batch's score records are encoded into one
	// arena (a fresh one per batch: the publisher still holds the last),
	// one allocation instead of two per reading.
	arena []byte
	spans []arenaSpan
}

type arenaSpan struct {
	msg                 int
	key, keyEnd, valEnd int
}

var _ Processor = (*detectionProcessor)(nil)

func (p *detectionProcessor) Restore(series string, state []byte) error {
	return p.eng.Restore(series, state)
}

func (p *detectionProcessor) Close() {
	p.eng.Close()
	p.d.m.live.Set(float64(p.d.limit.Live()))
}

func (p *detectionProcessor) Checkpoint(limit int, emit func(series string, state []byte)) (int64, error) {
	commit, err := p.eng.Checkpoint(limit, emit)
	p.d.m.live.Set(float64(p.d.limit.Live()))
	return commit, err
}

func (p *detectionProcessor) Pending() int { return p.eng.Pending() }

// Process decodes the records, runs the detection path over them and
// appends events, score records and dead letters to out.
func (p *detectionProcessor) Process(recs []Record, out *Output) error {
	ctx := context.Background()
	p.inputs, p.recIdx = p.inputs[:0], p.recIdx[:0]
	for i := range recs {
		r := &recs[i]
		reading, err := p.decode(ctx, r)
		if err != nil {
			reason := avrocodec.Reason(err)
			if reason == "" {
				reason = "undecodable"
			}
			p.deadLetter(out, r, reason, err.Error())
			continue
		}
		p.inputs = append(p.inputs, detect.Input{Reading: reading, Offset: r.Offset})
		p.recIdx = append(p.recIdx, i)
	}
	p.d.m.readings.WithLabelValues(p.topic).Add(float64(len(p.inputs)))
	p.outcomes = p.eng.Process(p.inputs, p.outcomes)
	if p.d.scores != "" {
		p.arena = make([]byte, 0, len(p.inputs)*(96+len(p.topic)))
		p.spans = p.spans[:0]
	}
	for i := range p.outcomes {
		o := &p.outcomes[i]
		r := &recs[p.recIdx[i]]
		in := &p.inputs[i].Reading
		p.d.m.outcomes.WithLabelValues(o.Status.String()).Inc()
		switch o.Status {
		case detect.Rejected:
			if o.Reason == detect.ReasonCardinality {
				p.d.warnLimit(o.Err)
			}
			p.deadLetter(out, r, o.Reason, o.Err.Error())
		case detect.Scored:
			if o.Decision.Flagged {
				p.d.m.flagged.Inc()
			}
			if o.Recomputed {
				p.d.m.recomputed.Inc()
			}
			if p.d.scores != "" {
				if err := p.score(ctx, out, r, in, o); err != nil {
					return err
				}
			}
			if o.Decision.Event != dynthreshold.EventNone {
				if err := p.event(ctx, out, r, in, o); err != nil {
					return err
				}
			}
		}
	}
	for _, sp := range p.spans {
		m := &out.Messages[sp.msg]
		m.Key = p.arena[sp.key:sp.keyEnd:sp.keyEnd]
		m.Value = p.arena[sp.keyEnd:sp.valEnd:sp.valEnd]
	}
	return nil
}

// decode decodes a reading, retrying while the schema registry is
// unreachable (the record is fine; dead-lettering it would lose it).
func (p *detectionProcessor) decode(ctx context.Context, r *Record) (record.Reading, error) {
	backoff := 200 * time.Millisecond
	for attempt := 0; ; attempt++ {
		reading, err := p.d.codec.DecodeReading(ctx, r.Value)
		if err == nil || !avrocodec.Retryable(err) || attempt == 8 {
			return reading, err
		}
		p.d.log.Warn("schema registry unavailable; retrying", zap.Int("attempt", attempt+1), zap.Error(err))
		time.Sleep(backoff)
		backoff = min(2*backoff, 5*time.Second)
	}
}

func (p *detectionProcessor) deadLetter(out *Output, r *Record, reason, detail string) {
	p.d.m.dlq.WithLabelValues(reason).Inc()
	hs := make([]kafka.Header, 0, len(r.Headers)+6)
	hs = append(hs, r.Headers...)
	hs = append(hs,
		kafka.Header{Key: HeaderDLQReason, Value: []byte(reason)},
		kafka.Header{Key: HeaderDLQError, Value: []byte(detail)},
		kafka.Header{Key: HeaderDLQTopic, Value: []byte(r.Topic)},
		kafka.Header{Key: HeaderDLQPartition, Value: []byte(strconv.Itoa(r.Partition))},
		kafka.Header{Key: HeaderDLQOffset, Value: []byte(strconv.FormatInt(r.Offset, 10))},
		kafka.Header{Key: HeaderDLQTimestamp, Value: []byte(r.Time.UTC().Format(time.RFC3339Nano))},
	)
	out.Messages = append(out.Messages, kafka.Message{Topic: p.d.dlq, Key: r.Key, Value: r.Value, Headers: hs})
}

func (p *detectionProcessor) provenance(r *Record) record.Provenance {
	return record.Provenance{Topic: r.Topic, Partition: int32(r.Partition), Offset: r.Offset}
}

func modelRef(o *detect.Outcome) record.Model {
	return record.Model{Name: o.Model.Name, Version: strconv.FormatInt(o.Model.Version, 10)}
}

func (p *detectionProcessor) score(ctx context.Context, out *Output, r *Record, in *record.Reading, o *detect.Outcome) error {
	predicted := o.Predicted
	if !o.HasPrediction {
		predicted = in.Value
	}
	s := record.Score{
		SeriesID: in.SeriesID, Time: in.Time, Value: in.Value, Predicted: predicted,
		SmoothedError: o.Decision.ES, Threshold: finiteOr(o.Decision.Threshold, 0), Score: o.Decision.Score,
		Anomalous: o.Decision.Flagged, WarmUp: o.Decision.WarmUp,
		ModelVersion: modelRef(o).Version, Provenance: p.provenance(r),
	}
	start := len(p.arena)
	p.arena = append(p.arena, in.SeriesID...)
	keyEnd := len(p.arena)
	var err error
	if p.arena, err = p.d.codec.EncodeScore(ctx, p.arena, &s); err != nil {
		return fmt.Errorf("encode score of %s: %w", in.SeriesID, err)
	}
	p.spans = append(p.spans, arenaSpan{msg: len(out.Messages), key: start, keyEnd: keyEnd, valEnd: len(p.arena)})
	out.Messages = append(out.Messages, kafka.Message{Topic: p.d.scores})
	return nil
}

var eventKinds = map[dynthreshold.EventKind]record.EventKind{
	dynthreshold.EventOpened:  record.EventOpened,
	dynthreshold.EventUpdated: record.EventUpdated,
	dynthreshold.EventClosed:  record.EventClosed,
}

func (p *detectionProcessor) event(ctx context.Context, out *Output, r *Record, in *record.Reading, o *detect.Outcome) error {
	dec := &o.Decision
	kind := eventKinds[dec.Event]
	mr := modelRef(o)
	ep := dec.Episode
	episodeID := record.EpisodeID(in.SeriesID, ep.StartTime, mr)
	e := record.Event{
		ID:         record.EventID(in.SeriesID, episodeID, kind, in.Time, mr),
		Kind:       kind,
		SeriesID:   in.SeriesID,
		Time:       in.Time,
		DetectedAt: p.d.now().UTC(),
		Value:      in.Value, Predicted: o.Predicted, RawError: in.Value - o.Predicted,
		SmoothedError: dec.ES, Threshold: finiteOr(dec.Threshold, 0), Score: dec.Score,
		Direction: record.DirectionOf(in.Value, o.Predicted),
		Episode: record.Episode{
			ID: episodeID, Start: ep.StartTime, PeakTime: o.PeakTime, PeakValue: o.PeakValue,
			PeakScore: ep.Peak, Readings: int64(ep.Flagged),
		},
		Model:      mr,
		Provenance: p.provenance(r),
		Explanation: record.Explanation{
			Z: finiteOr(dec.Z, 0), Mu: dec.Mu, Sigma: dec.Sigma, WarmUp: dec.WarmUp,
			PruningConsidered: dec.Pruned || dec.Flagged, Pruned: dec.Pruned,
			Reason: explain(in, o),
		},
		Tags: in.Tags,
	}
	v, err := p.d.codec.EncodeEvent(ctx, nil, &e)
	if err != nil {
		return fmt.Errorf("encode event of %s: %w", in.SeriesID, err)
	}
	p.d.m.events.WithLabelValues(kind.String()).Inc()
	out.Messages = append(out.Messages, kafka.Message{Topic: p.d.events, Key: []byte(in.SeriesID), Value: v})
	return nil
}

// explain says in one sentence why the event was emitted.
func explain(in *record.Reading, o *detect.Outcome) string {
	dec := &o.Decision
	var b strings.Builder
	dir := "above"
	if in.Value < o.Predicted {
		dir = "below"
	}
	switch dec.Event {
	case dynthreshold.EventOpened, dynthreshold.EventUpdated:
		verb := "opened"
		if dec.Event == dynthreshold.EventUpdated {
			verb = "peak raised"
		}
		fmt.Fprintf(&b, "episode %s: value %.4g is %s the expected %.4g; smoothed error %.4g exceeds the threshold %.4g",
			verb, in.Value, dir, o.Predicted, dec.ES, dec.Threshold)
		if dec.WarmUp {
			b.WriteString(" (warm-up: threshold from the model's validation errors)")
		} else if dec.Sigma > 0 {
			fmt.Fprintf(&b, " (window mean %.4g + %.2gσ, σ %.4g)", dec.Mu, dec.Z, dec.Sigma)
		}
	case dynthreshold.EventClosed:
		fmt.Fprintf(&b, "episode closed after %d flagged readings since %s; peak score %.3f at %s",
			dec.Episode.Flagged, dec.Episode.StartTime.UTC().Format(time.RFC3339), dec.Episode.Peak,
			o.PeakTime.UTC().Format(time.RFC3339))
	}
	if o.Note != "" {
		b.WriteString("; ")
		b.WriteString(o.Note)
	}
	return b.String()
}

func finiteOr(x, def float64) float64 {
	if math.IsNaN(x) || math.IsInf(x, 0) {
		return def
	}
	return x
}

type detectionMetrics struct {
	readings   *prometheus.CounterVec // topic
	outcomes   *prometheus.CounterVec // status
	dlq        *prometheus.CounterVec // reason
	events     *prometheus.CounterVec // kind
	flagged    prometheus.Counter
	recomputed prometheus.Counter
	live       prometheus.Gauge
}

func newDetectionMetrics(reg prometheus.Registerer) *detectionMetrics {
	m := &detectionMetrics{
		readings: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "vigil_readings_total", Help: "Readings decoded, by input topic.",
		}, []string{"topic"}),
		outcomes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "vigil_reading_outcomes_total", Help: "Decoded readings by outcome: scored, duplicate, replayed, unscored, rejected.",
		}, []string{"status"}),
		dlq: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "vigil_dead_letters_total", Help: "Records sent to the dead-letter topic, by reason.",
		}, []string{"reason"}),
		events: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "vigil_events_total", Help: "Anomaly events published, by kind.",
		}, []string{"kind"}),
		flagged: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "vigil_flagged_readings_total", Help: "Readings flagged anomalous.",
		}),
		recomputed: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "vigil_threshold_recomputations_total", Help: "Dynamic thresholds recomputed over their rolling window.",
		}),
		live: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "vigil_live_series", Help: "Series held by this instance (capped by detect.max-series).",
		}),
	}
	if reg != nil {
		reg.MustRegister(m.readings, m.outcomes, m.dlq, m.events, m.flagged, m.recomputed, m.live)
	}
	return m
}
