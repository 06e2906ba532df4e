package avrocodec

import (
	"errors"
	"strconv"
	"strings"
)

// Kind is a class of decode failure. Every *DecodeError carries exactly one
// Kind, and errors.Is(err, ErrMalformed) (etc.) matches it. The Reason of a
// Kind is a short stable string suitable as a metric label or dead-letter
// header; it never changes once released.
type Kind struct{ reason string }

// Error returns the kind's reason, so a Kind can be used as an error value.
func (k *Kind) Error() string { return k.reason }

// Reason returns the machine-readable reason, e.g. "malformed".
func (k *Kind) Reason() string { return k.reason }

// Decode failure kinds. All but ErrRegistryUnavailable are properties of the
// payload: retrying will not help and the message belongs on a dead-letter
// topic. ErrRegistryUnavailable is transient: the consumer should back off and
// retry rather than dead-letter.
var (
	// ErrMalformed: the bytes are not a valid payload of the framing and
	// schema (truncated, bad varint, bad magic, invalid JSON, wrong JSON
	// type, trailing bytes, ...).
	ErrMalformed = &Kind{"malformed"}
	// ErrUnknownSchema: the Confluent schema id or single-object fingerprint
	// is not known, or no registry is configured to resolve it.
	ErrUnknownSchema = &Kind{"unknown_schema"}
	// ErrIncompatibleSchema: the writer schema is known but cannot be read
	// as the requested record (another record name, or a field of a type
	// that does not promote to the reader's).
	ErrIncompatibleSchema = &Kind{"incompatible_schema"}
	// ErrMissingField: a required field is absent from the writer schema or
	// from a JSON object.
	ErrMissingField = &Kind{"missing_field"}
	// ErrNonFinite: a number that must be finite is NaN or infinite.
	ErrNonFinite = &Kind{"non_finite"}
	// ErrInvalid: the record decoded but fails validation (empty series id,
	// score out of range, ...).
	ErrInvalid = &Kind{"invalid"}
	// ErrTooLarge: the payload exceeds Config.MaxPayloadBytes.
	ErrTooLarge = &Kind{"too_large"}
	// ErrRegistryUnavailable: the schema registry could not be reached or
	// answered with a server error. Transient.
	ErrRegistryUnavailable = &Kind{"registry_unavailable"}
)

// DecodeError is the only error type the Decode methods return. It says what
// was wrong (Kind), where (Framing, Offset into the payload when known, Field
// when known) and why (Reason text and the underlying Err, if any).
type DecodeError struct {
	// Kind classifies the failure; see the Err* kinds.
	Kind *Kind
	// Record is what was being decoded: "reading", "event" or "score".
	Record string
	// Framing is the framing the payload was decoded as (after detection).
	Framing Framing
	// Offset is the byte offset into the payload where decoding failed, or
	// -1 when not meaningful.
	Offset int
	// Field is the dotted field path involved, if any.
	Field string
	// Detail is a short human-readable explanation.
	Detail string
	// Err is the underlying error, if any.
	Err error
}

// Error formats the error as
// "decode <record> (<framing>): <reason>: field f: at byte n: detail: err".
func (e *DecodeError) Error() string {
	var b strings.Builder
	b.WriteString("decode ")
	if e.Record != "" {
		b.WriteString(e.Record)
		b.WriteString(" ")
	}
	b.WriteString("(")
	if e.Framing == "" {
		b.WriteString("unknown framing")
	} else {
		b.WriteString(string(e.Framing))
	}
	b.WriteString("): ")
	b.WriteString(e.Kind.reason)
	if e.Field != "" {
		b.WriteString(": field ")
		b.WriteString(e.Field)
	}
	if e.Offset >= 0 {
		b.WriteString(": at byte ")
		b.WriteString(strconv.Itoa(e.Offset))
	}
	if e.Detail != "" {
		b.WriteString(": ")
		b.WriteString(e.Detail)
	}
	if e.Err != nil {
		b.WriteString(": ")
		b.WriteString(e.Err.Error())
	}
	return b.String()
}

// Unwrap exposes both the Kind and the underlying error to errors.Is/As.
func (e *DecodeError) Unwrap() []error {
	if e.Err == nil {
		return []error{e.Kind}
	}
	return []error{e.Kind, e.Err}
}

// Reason returns the machine-readable reason of the error's kind.
func (e *DecodeError) Reason() string { return e.Kind.reason }

// Reason returns the machine-readable reason of err if it is or wraps a
// *DecodeError, and "" otherwise. Use it to label dead-letter records.
func Reason(err error) string {
	var de *DecodeError
	if errors.As(err, &de) && de.Kind != nil {
		return de.Kind.reason
	}
	return ""
}

// Retryable reports whether err is transient (the registry was unavailable
// or the context ended), so the message should be retried rather than
// dead-lettered.
func Retryable(err error) bool {
	return errors.Is(err, ErrRegistryUnavailable)
}
