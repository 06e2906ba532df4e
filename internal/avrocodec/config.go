package avrocodec

import (
	"errors"
	"flag"
	"fmt"
	"strings"
	"time"
)

// Framing is how a record is laid out in a Kafka message value.
type Framing string

// Framings.
const (
	// FramingConfluent is the Confluent Schema Registry wire format: magic
	// byte 0x00, 4-byte big-endian schema id, Avro binary body.
	FramingConfluent Framing = "confluent"
	// FramingSingleObject is Avro Single-Object Encoding: 0xC3 0x01, 8-byte
	// little-endian CRC-64-AVRO (Rabin) fingerprint of the writer schema's
	// Parsing Canonical Form, Avro binary body.
	FramingSingleObject Framing = "single-object"
	// FramingJSON is a plain JSON object whose keys are the Avro field names.
	FramingJSON Framing = "json"
	// FramingAuto (input only) detects the framing from the first byte(s):
	// 0x00 → confluent, 0xC3 0x01 → single-object, '{' (after optional
	// whitespace) → json.
	FramingAuto Framing = "auto"
)

// Default values of Config; RegisterFlags installs them.
const (
	DefaultFraming         = FramingSingleObject
	DefaultInputFraming    = FramingAuto
	DefaultRegistryTimeout = 5 * time.Second
	DefaultNegativeTTL     = 30 * time.Second
	DefaultMaxPayloadBytes = 1 << 20
	DefaultReadingSubject  = "vigil.readings-value"
	DefaultEventSubject    = "vigil.anomalies-value"
	DefaultScoreSubject    = "vigil.scores-value"
)

// Config configures a Codec. Set defaults with RegisterFlags (or start from
// DefaultConfig) and check with Validate.
type Config struct {
	// Framing is the framing the Encode methods write: confluent,
	// single-object or json. Default single-object (needs no registry).
	Framing Framing `yaml:"framing"`
	// InputFraming is the framing the Decode methods expect: auto,
	// confluent, single-object or json. Default auto.
	InputFraming Framing `yaml:"input_framing"`
	// RegistryURL is the base URL of a Confluent-compatible schema registry,
	// e.g. http://registry:8081. Several may be given comma-separated; they
	// are tried in order. New needs it (or an explicit Registry) when
	// Framing or InputFraming is confluent; without a registry,
	// Confluent-framed input under auto fails with ErrUnknownSchema.
	RegistryURL string `yaml:"registry_url"`
	// RegistryTimeout bounds each registry request. Default 5s.
	RegistryTimeout time.Duration `yaml:"registry_timeout"`
	// RegistryNegativeTTL is how long an id the registry reported unknown is
	// remembered as unknown, so that a stream of messages with a bogus id
	// does not become a stream of HTTP requests. 0 disables. Default 30s.
	RegistryNegativeTTL time.Duration `yaml:"registry_negative_ttl"`
	// AutoRegister makes the first Confluent encode of each record type
	// register the schema under its subject. If false, the schema must
	// already be registered and is looked up. Default true.
	AutoRegister bool `yaml:"auto_register"`
	// ReadingSubject, EventSubject and ScoreSubject are the registry
	// subjects (TopicNameStrategy: "<topic>-value") the encoders register
	// under. Defaults vigil.readings-value, vigil.anomalies-value,
	// vigil.scores-value.
	ReadingSubject string `yaml:"reading_subject"`
	EventSubject   string `yaml:"event_subject"`
	ScoreSubject   string `yaml:"score_subject"`
	// SchemaDir optionally names a directory of further writer schemas
	// (*.avsc, e.g. older versions still written by some producers) that
	// single-object input may use. The current schemas are always known.
	SchemaDir string `yaml:"schema_dir"`
	// MaxPayloadBytes rejects larger payloads with ErrTooLarge before any
	// decoding. Default 1 MiB.
	MaxPayloadBytes int `yaml:"max_payload_bytes"`
}

// DefaultConfig returns the defaults RegisterFlags installs.
func DefaultConfig() Config {
	var c Config
	c.RegisterFlags(flag.NewFlagSet("", flag.ContinueOnError))
	return c
}

// RegisterFlags registers the codec flags, prefixed "codec.", on f, and sets
// the fields of c to their defaults. It is the single place defaults live.
func (c *Config) RegisterFlags(f *flag.FlagSet) {
	c.Framing = DefaultFraming
	c.InputFraming = DefaultInputFraming
	f.Func("codec.framing", "framing of encoded records: confluent, single-object or json (default "+string(DefaultFraming)+")", func(s string) error {
		c.Framing = Framing(s)
		return nil
	})
	f.Func("codec.input-framing", "framing of decoded records: auto, confluent, single-object or json (default "+string(DefaultInputFraming)+")", func(s string) error {
		c.InputFraming = Framing(s)
		return nil
	})
	f.StringVar(&c.RegistryURL, "codec.registry-url", "", "Confluent schema registry base URL(s), comma-separated; required for confluent framing")
	f.DurationVar(&c.RegistryTimeout, "codec.registry-timeout", DefaultRegistryTimeout, "timeout of one schema registry request")
	f.DurationVar(&c.RegistryNegativeTTL, "codec.registry-negative-ttl", DefaultNegativeTTL, "how long a schema id the registry does not know is remembered as unknown (0 disables)")
	f.BoolVar(&c.AutoRegister, "codec.auto-register", true, "register schemas under their subject on first confluent encode (else look them up)")
	f.StringVar(&c.ReadingSubject, "codec.reading-subject", DefaultReadingSubject, "registry subject of readings (<topic>-value)")
	f.StringVar(&c.EventSubject, "codec.event-subject", DefaultEventSubject, "registry subject of anomaly events (<topic>-value)")
	f.StringVar(&c.ScoreSubject, "codec.score-subject", DefaultScoreSubject, "registry subject of scores (<topic>-value)")
	f.StringVar(&c.SchemaDir, "codec.schema-dir", "", "directory of further known writer schemas (*.avsc) for single-object input")
	f.IntVar(&c.MaxPayloadBytes, "codec.max-payload-bytes", DefaultMaxPayloadBytes, "largest payload the decoder accepts")
}

// Validate reports every invalid setting, joined into one error.
func (c *Config) Validate() error {
	var errs []error
	switch c.Framing {
	case FramingConfluent, FramingSingleObject, FramingJSON:
	default:
		errs = append(errs, fmt.Errorf("codec.framing %q: want confluent, single-object or json", c.Framing))
	}
	switch c.InputFraming {
	case FramingAuto, FramingConfluent, FramingSingleObject, FramingJSON:
	default:
		errs = append(errs, fmt.Errorf("codec.input-framing %q: want auto, confluent, single-object or json", c.InputFraming))
	}
	for _, u := range c.registryURLs() {
		if !strings.HasPrefix(u, "http://") && !strings.HasPrefix(u, "https://") {
			errs = append(errs, fmt.Errorf("codec.registry-url %q: want an http:// or https:// URL", u))
		}
	}
	if c.RegistryTimeout <= 0 {
		errs = append(errs, fmt.Errorf("codec.registry-timeout %v: must be positive", c.RegistryTimeout))
	}
	if c.RegistryNegativeTTL < 0 {
		errs = append(errs, fmt.Errorf("codec.registry-negative-ttl %v: must not be negative", c.RegistryNegativeTTL))
	}
	for name, s := range map[string]string{"codec.reading-subject": c.ReadingSubject, "codec.event-subject": c.EventSubject, "codec.score-subject": c.ScoreSubject} {
		if s == "" {
			errs = append(errs, fmt.Errorf("%s: must not be empty", name))
		}
	}
	if c.MaxPayloadBytes < 16 {
		errs = append(errs, fmt.Errorf("codec.max-payload-bytes %d: must be at least 16", c.MaxPayloadBytes))
	}
	return errors.Join(errs...)
}

func (c *Config) registryURLs() []string {
	var urls []string
	for _, u := range strings.Split(c.RegistryURL, ",") {
		if u = strings.TrimSpace(u); u != "" {
			urls = append(urls, u)
		}
	}
	return urls
}

// TopicSubject returns the registry subject of a topic's record values under
// Confluent's TopicNameStrategy: "<topic>-value".
func TopicSubject(topic string) string { return topic + "-value" }
