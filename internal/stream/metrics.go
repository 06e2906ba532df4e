package stream

import (
	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the consumer's Prometheus metrics. They are registered on the
// injected Registerer; nothing is global.
type metrics struct {
	recordsIn       *prometheus.CounterVec // topic
	messagesOut     *prometheus.CounterVec // topic
	lag             *prometheus.GaugeVec   // topic, partition
	processing      prometheus.Histogram   // fetch received → outputs acknowledged
	endToEnd        prometheus.Histogram   // record timestamp → outputs acknowledged
	checkpointTime  prometheus.Histogram   // changelog write
	checkpointBytes prometheus.Counter     // changelog bytes written
	checkpointRecs  prometheus.Counter     // changelog records written
	commits         *prometheus.CounterVec // result: ok, failed
	assigned        prometheus.Gauge       // partitions assigned
	restored        prometheus.Gauge       // partitions restored
	restoreRecords  prometheus.Counter     // changelog records read while restoring
	fetchErrors     *prometheus.CounterVec // kind
	offsetResets    *prometheus.CounterVec // topic
	generations     prometheus.Counter
}

func newMetrics(reg prometheus.Registerer) *metrics {
	latency := []float64{.0005, .001, .002, .005, .01, .02, .05, .1, .2, .5, 1, 2, 5, 10}
	m := &metrics{
		recordsIn: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "vigil_records_in_total", Help: "Input records fetched, by topic.",
		}, []string{"topic"}),
		messagesOut: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "vigil_messages_out_total", Help: "Messages published and acknowledged, by topic.",
		}, []string{"topic"}),
		lag: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "vigil_consumer_lag", Help: "Records between the partition's high watermark and the next record to fetch.",
		}, []string{"topic", "partition"}),
		processing: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "vigil_processing_seconds", Help: "Time from a batch's fetch to the acknowledgement of its outputs.", Buckets: latency,
		}),
		endToEnd: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "vigil_end_to_end_seconds", Help: "Time from a record's timestamp to the acknowledgement of its outputs.", Buckets: latency,
		}),
		checkpointTime: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "vigil_checkpoint_seconds", Help: "Time to write a checkpoint to the changelog.", Buckets: latency,
		}),
		checkpointBytes: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "vigil_checkpoint_bytes_total", Help: "State bytes written to the changelog.",
		}),
		checkpointRecs: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "vigil_checkpoint_records_total", Help: "State records written to the changelog.",
		}),
		commits: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "vigil_offset_commits_total", Help: "Offset commits, by result.",
		}, []string{"result"}),
		assigned: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "vigil_partitions_assigned", Help: "Input partitions assigned to this instance.",
		}),
		restored: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "vigil_partitions_restored", Help: "Assigned input partitions whose state is restored.",
		}),
		restoreRecords: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "vigil_restore_records_total", Help: "Changelog records read while restoring state.",
		}),
		fetchErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "vigil_fetch_errors_total", Help: "Failed fetches, by kind.",
		}, []string{"kind"}),
		offsetResets: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "vigil_offset_resets_total", Help: "Fetch positions reset because the offset was out of range (data deleted by retention before it was processed).",
		}, []string{"topic"}),
		generations: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "vigil_group_generations_total", Help: "Consumer group generations joined.",
		}),
	}
	if reg != nil {
		reg.MustRegister(m.recordsIn, m.messagesOut, m.lag, m.processing, m.endToEnd, m.checkpointTime,
			m.checkpointBytes, m.checkpointRecs, m.commits, m.assigned, m.restored, m.restoreRecords,
			m.fetchErrors, m.offsetResets, m.generations)
	}
	return m
}
