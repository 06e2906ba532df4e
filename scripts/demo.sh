#!/usr/bin/env bash
# The demo: Vigil's main job on one machine, start to finish.
#
#   1. starts the local Kafka broker (scripts/kafka.sh), builds the binaries;
#   2. trains a model with `trainer train` on sample data bundled in
#      testdata/nab (part of the Numenta Anomaly Benchmark, MIT licence),
#      leaving its labelled anomaly windows out, and writes the HTML report;
#   3. starts the consumer (it creates the demo's topics), and `tail` to show
#      anomaly episodes as they arrive;
#   4. replays the same files, anomalies included, through Kafka with
#      `replay`, waits until every reading is scored, and stops everything
#      it started.
#
# VIGIL_DEMO_SHORT=1 runs a smaller variant (one short file, fewer epochs),
# as CI does. Output goes to out/demo/ (VIGIL_DEMO_OUT).
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"
out=${VIGIL_DEMO_OUT:-out/demo}
short=${VIGIL_DEMO_SHORT:-0}
started=$SECONDS
mkdir -p "$out" bin
rm -rf "$out/models" "$out/data"

say() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }

was_up=0
scripts/kafka.sh status >/dev/null 2>&1 && was_up=1
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
	for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
	if [[ $was_up -eq 0 ]]; then scripts/kafka.sh down || true; fi
}
trap cleanup EXIT

say "starting the local Kafka broker"
addr=$(scripts/kafka.sh up)

say "building consumer, trainer, replay and tail"
go build -o bin/ ./cmd/consumer ./cmd/trainer ./cmd/replay ./cmd/tail

# The sample: NAB files whose anomalies are known machine failures.
mkdir -p "$out/data/realKnownCause"
if [[ $short == 1 ]]; then
	files=(ec2_request_latency_system_failure.csv)
	epochs=3
else
	files=(machine_temperature_system_failure.csv ambient_temperature_system_failure.csv)
	epochs=10
fi
rows=0
for f in "${files[@]}"; do
	cp "testdata/nab/data/realKnownCause/$f" "$out/data/realKnownCause/"
	rows=$((rows + $(wc -l <"testdata/nab/data/realKnownCause/$f") - 1))
done

say "training a model on the sample's normal data (labelled anomaly windows left out)"
bin/trainer train -files="$out/data" -labels=testdata/nab/combined_windows.json \
	-models.dir="$out/models" -model.epochs="$epochs" -log.level=warn \
	-report="$out/report.html" -summary="$out/training.json"
grep -o '"reason": "[^"]*"' "$out/training.json" | sed 's/"reason": "\(.*\)"/    \1/' || true

run=demo-$(date +%s)
sensors=$run-sensors events=$run-anomalies scores=$run-scores
say "starting the consumer (group $run)"
bin/consumer -kafka.brokers="$addr" -stream.group="$run" -stream.topics="$sensors" \
	-stream.events-topic="$events" -stream.scores-topic="$scores" -stream.dlq-topic="$run-dlq" \
	-stream.changelog-topic="$run-state" -stream.create-topics -stream.create-partitions=2 \
	-models.dir="$out/models" -admin.addr=127.0.0.1:0 -log.level=info -log.format=json 2>"$out/consumer.log" &
pids+=($!)
admin=""
for _ in $(seq 1 100); do
	admin=$(grep -o '"msg":"admin endpoints listening","addr":"[^"]*"' "$out/consumer.log" 2>/dev/null | sed 's/.*"addr":"\(.*\)"/\1/' || true)
	[[ -n $admin ]] && break
	sleep 0.1
done
[[ -n $admin ]] || { echo "demo: the consumer did not start; its log:" >&2; tail -20 "$out/consumer.log" >&2; exit 1; }

# metric prints one of the consumer's metrics, summed over its labels
# (plain bash: no curl needed).
metric() {
	local host=${admin%:*} port=${admin##*:}
	exec 3<>"/dev/tcp/$host/$port" || return 1
	printf 'GET /metrics HTTP/1.0\r\nHost: %s\r\n\r\n' "$admin" >&3
	awk -v m="$1" '$1 == m || index($1, m "{") == 1 { s += $2 } END { printf "%d\n", s }' <&3
	exec 3<&-
}
for _ in $(seq 1 100); do
	kcat -b "$addr" -L -t "$events" -m 2 2>/dev/null | grep -q "partition 1" && break
	sleep 0.2
done

say "anomaly episodes, as alerting services receive them (series, time, value vs expected, score, why):"
bin/tail -kafka.brokers="$addr" -tail.topic="$events" -tail.from-start -tail.kinds=OPENED,CLOSED &
pids+=($!)

say "replaying $rows readings with their real anomalies"
bin/replay -kafka.brokers="$addr" -replay.topic="$sensors" -replay.files="$out/data" -replay.rate=4000 -log.level=warn

deadline=$((SECONDS + 120))
# Every reading fetched, then a moment for the last outputs to be published.
while (($(metric vigil_records_in_total) < rows)); do
	if ((SECONDS > deadline)); then echo "demo: only $(metric vigil_records_in_total) of $rows readings consumed in time" >&2; exit 1; fi
	sleep 0.5
done
sleep 2
scored=$(metric vigil_reading_outcomes_total)
dead=$(metric vigil_dead_letters_total)
events_out=$(metric vigil_events_total)
say "done in $((SECONDS - started))s: $rows readings replayed; $scored decoded, $dead dead-lettered; $events_out anomaly events published"
echo "the trainer's report: $repo/$out/report.html"
