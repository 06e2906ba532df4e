package avrocodec_test

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"time"

	"github.com/vigil-stream/vigil/internal/avrocodec"
	"github.com/vigil-stream/vigil/internal/record"
)

// A consumer decodes whatever framing arrives and routes failures by reason.
func Example() {
	var cfg avrocodec.Config
	cfg.RegisterFlags(flag.NewFlagSet("vigil", flag.ContinueOnError)) // defaults: write single-object, read auto
	codec, err := avrocodec.New(cfg, nil, nil)
	if err != nil {
		panic(err)
	}
	defer codec.Close()
	ctx := context.Background()

	r := record.Reading{SeriesID: "pump-7/temp", Time: time.Date(2026, 3, 14, 15, 9, 26, 0, time.UTC), Value: 71.25}
	payload, err := codec.EncodeReading(ctx, nil, &r)
	if err != nil {
		panic(err)
	}
	for _, msg := range [][]byte{
		payload,
		[]byte(`{"series_id": "pump-7/temp", "event_time": "2026-03-14T15:09:27Z", "value": 71.5}`),
		[]byte(`{"series_id": "pump-7/temp", "value": 72}`),
		{0xC3, 0x01, 1, 2, 3, 4, 5, 6, 7, 8, 0},
	} {
		got, err := codec.DecodeReading(ctx, msg)
		switch {
		case err == nil:
			fmt.Println("ok", got.SeriesID, got.Time.Format(time.RFC3339), got.Value)
		case avrocodec.Retryable(err):
			fmt.Println("retry later:", err)
		default:
			var de *avrocodec.DecodeError
			errors.As(err, &de)
			fmt.Println("dead-letter, reason", avrocodec.Reason(err), "field", de.Field)
		}
	}
	// Output:
	// ok pump-7/temp 2026-03-14T15:09:26Z 71.25
	// ok pump-7/temp 2026-03-14T15:09:27Z 71.5
	// dead-letter, reason missing_field field event_time
	// dead-letter, reason unknown_schema field
}
