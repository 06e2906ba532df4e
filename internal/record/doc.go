// Package record defines Vigil's domain records: the Reading that producers
// send, the Event the detector emits when an anomaly episode opens, grows or
// closes, and the per-reading Score.
//
// Data flow: producers → input topic → avrocodec decodes a Reading → the
// consumer scores it → Event and Score values → avrocodec encodes them →
// events and scores topics → alerting services. These types are the meeting
// point of that flow and know nothing of its wire formats: field names and
// encodings live in the schemas package and in internal/avrocodec, which
// maps them onto these types.
//
// The package depends on the standard library only. Values are plain data:
// they are not safe for concurrent mutation, but may be read from several
// goroutines at once.
package record
