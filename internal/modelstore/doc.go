// Package modelstore is where trained models live between the trainer and
// the consumers: a directory (local or mounted) with one folder per model
// name, holding the last N artifact versions and a CURRENT file naming the
// promoted one.
//
//	<dir>/<name>/<name>-v000042.vgm   artifact of version 42 (model.WriteFile: atomic, verified)
//	<dir>/<name>/CURRENT              "<name>-v000042.vgm\n", replaced atomically by rename
//
// The trainer publishes (artifact first, then CURRENT) and rolls back (CURRENT
// to an older artifact); consumers poll CURRENT with a Watcher and hot-swap
// the models that changed. A reader never sees a half-written artifact or
// CURRENT: both are written to a temporary file in the same folder, synced,
// and renamed over the old name.
package modelstore
