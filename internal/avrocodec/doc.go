// Package avrocodec turns Vigil records into Kafka message values and back.
//
// Data flow: producers → input topic → DecodeReading → consumer, and
// consumer → EncodeEvent / EncodeScore → events and scores topics →
// alerting services (which may use DecodeEvent). The schemas are those of
// package schemas; the Go types those of internal/record.
//
// # Framings
//
// A Codec writes one framing, Config.Framing, and reads Config.InputFraming,
// which by default (auto) is detected from the first byte(s) of each value:
//
//   - confluent (0x00): the Confluent Schema Registry wire format, magic
//     byte 0, 4-byte big-endian schema id, Avro binary body. The writer
//     schema is fetched from the registry by id once and cached.
//   - single-object (0xC3 0x01): Avro Single-Object Encoding, an 8-byte
//     little-endian CRC-64-AVRO (Rabin) fingerprint of the writer schema's
//     Parsing Canonical Form, then the Avro binary body. Needs no registry:
//     the writer schema must be one the Codec knows (the current schemas,
//     Config.SchemaDir, AddWriterSchema).
//   - json ('{'): a plain JSON object keyed by the Avro field names, for
//     producers that cannot write Avro. Times are RFC 3339 strings or epoch
//     milliseconds (numbers, fractions allowed); unknown keys are ignored;
//     absent optional fields take their schema defaults. The encoder writes
//     times as RFC 3339 strings with nanoseconds, UTC.
//
// # Schema resolution
//
// goavro decodes with one schema only. The codec therefore always decodes
// with the writer's schema and projects fields by name onto the reader's Go
// type: fields the reader does not know are skipped, reader fields the
// writer lacks take their defaults, numeric types promote (int, long, float
// → double) and timestamps in milli-, micro- or nanoseconds convert. A
// writer schema that lacks a required field, or names another record, fails
// with ErrMissingField or ErrIncompatibleSchema. For readings (the hot path)
// this resolution is compiled once per writer schema into a plan that reads
// Avro binary straight into a record.Reading; events and scores go through
// goavro's native maps after the payload has been walked and bounds-checked
// against the writer schema.
//
// # Errors
//
// Decode methods return only *DecodeError. Its Kind (ErrMalformed,
// ErrUnknownSchema, ErrIncompatibleSchema, ErrMissingField, ErrNonFinite,
// ErrInvalid, ErrTooLarge, ErrRegistryUnavailable) is matched with errors.Is
// and has a stable machine-readable reason (Reason(err)), meant for
// dead-letter routing and metric labels. ErrRegistryUnavailable is the one
// transient kind (Retryable reports it): the message is fine and should be
// retried, not dead-lettered. No payload makes a decoder panic.
//
// # Concurrency and blocking
//
// Codec and RegistryClient are safe for concurrent use. Decoding a payload
// whose writer schema is cached takes no lock and does no I/O; the first
// payload with a new Confluent id, and the first Confluent encode of each
// record type, block on the registry for at most Config.RegistryTimeout or
// until the context ends.
package avrocodec
