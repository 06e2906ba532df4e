// Package trainer is the nightly rebuild of Vigil's models: it replays
// normal data, trains a model per series or group, compares each new model
// (the challenger) with the one in service (the champion) on the newest
// held-out data, and promotes the challenger only if it is at least as good.
//
// Data flow:
//
//	Kafka input topics (a time range) or CSV files
//	   │  minus readings inside anomaly episodes the consumer published
//	   │  (events topic, with a margin), minus labelled windows (NAB
//	   │  combined_windows.json), minus readings the consumer dead-lettered
//	   ▼
//	series ──► groups (per series, or glob/tag routes to shared models)
//	   ▼
//	model.Train (gorgonia) ──► challenger
//	   ▼
//	the consumer's detection path (package detect) over each series, for
//	champion and challenger: validation error and false alarms on the
//	held-out slice (the newest ValFraction of each series)
//	   ▼
//	modelstore.Publish (atomic, verified) ──► consumers hot-swap
//	   ▼
//	summary (JSON) and report (HTML)
//
// A run is safe to repeat and to interrupt: nothing is published until a
// model has been trained, evaluated and written completely.
package trainer
