// Package logging builds the zap logger every Vigil binary injects into its
// components: JSON lines in production (for log shippers), a human-readable
// console encoding when stderr is a terminal, and the level from config.
// There is no global logger.
package logging
