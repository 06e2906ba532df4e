// Package admin serves a process's operational endpoints: /metrics
// (Prometheus), /healthz (the process is alive and not wedged) and /readyz
// (it has joined its group and restored its state, so it is worth routing
// to and safe to roll the next pod). Kubernetes probes and Prometheus
// scrapers use them; nothing on the data path does.
package admin
