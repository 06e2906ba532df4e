// Package schemas holds Vigil's wire contracts: the Avro schemas of the
// records Vigil reads and writes on Kafka, embedded so that Go code and the
// .avsc files that other languages use can never drift apart.
//
// Data flow: producers write Reading records to the input topic; the
// consumer decodes them (package internal/avrocodec), scores them and writes
// AnomalyEvent records to the events topic and, optionally, Score records to
// the scores topic. README.md beside this file states the compatibility
// policy and the registry subject names.
//
// The exported strings are the schema texts exactly as committed. They are
// constants in effect: never modify them at run time.
package schemas

import _ "embed"

// Reading is the Avro schema (io.vigil.Reading) of one sensor reading on the
// input topic.
//
//go:embed reading.avsc
var Reading string

// AnomalyEvent is the Avro schema (io.vigil.AnomalyEvent) of the events
// alerting services consume.
//
//go:embed anomaly_event.avsc
var AnomalyEvent string

// Score is the Avro schema (io.vigil.Score) of the per-reading records on the
// optional scores topic.
//
//go:embed score.avsc
var Score string

// VersionProperty is the name of the top-level schema property that carries
// the contract version of a schema (an integer, raised by one with every
// change). Avro ignores unknown properties and leaves them out of the
// Parsing Canonical Form, so it affects neither encoding nor fingerprints.
const VersionProperty = "vigil.schema.version"

// Full names of the top-level records, as written in the schemas.
const (
	ReadingName      = "io.vigil.Reading"
	AnomalyEventName = "io.vigil.AnomalyEvent"
	ScoreName        = "io.vigil.Score"
)

// Model is the Avro schema (io.vigil.Model) of a trained model artifact,
// written and read by package internal/model.
//
//go:embed model.avsc
var Model string
