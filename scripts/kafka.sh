#!/usr/bin/env bash
# Runs a single-node Apache Kafka broker (KRaft, combined broker+controller)
# on 127.0.0.1 for development and the integration tests.
#
#   scripts/kafka.sh up      fetch the pinned release if needed, start, wait, print the bootstrap address
#   scripts/kafka.sh down    stop it and remove its data
#   scripts/kafka.sh status  print the bootstrap address if it is up, exit 1 otherwise
#
# Settings (environment):
#   VIGIL_KAFKA_PORT        client listener port            (default 19092)
#   VIGIL_KAFKA_CTRL_PORT   controller listener port        (default PORT+1)
#   VIGIL_KAFKA_HOME        jars, data, log and pid file    (default <repo>/.cache/kafka)
#   VIGIL_KAFKA_START_TIMEOUT seconds to wait for metadata  (default 90)
#   VIGIL_KAFKA_HEAP        JVM heap                        (default 512m)
#   VIGIL_KAFKA_EXTRA_PROPS a file of extra server.properties lines (e.g. TLS listeners)
#
# The release is pinned in deploy/kafka/pom.xml and fetched from Maven
# Central by mvn; the broker's log goes to $VIGIL_KAFKA_HOME/broker.log and,
# when start-up fails, its tail is printed and the exit status is non-zero.
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
port=${VIGIL_KAFKA_PORT:-19092}
ctrl_port=${VIGIL_KAFKA_CTRL_PORT:-$((port + 1))}
home=${VIGIL_KAFKA_HOME:-$repo/.cache/kafka}
timeout=${VIGIL_KAFKA_START_TIMEOUT:-90}
heap=${VIGIL_KAFKA_HEAP:-512m}
pom=$repo/deploy/kafka/pom.xml
lib=$home/lib
data=$home/data
log=$home/broker.log
pidfile=$home/broker.pid
addr=127.0.0.1:$port

say() { echo "kafka: $*" >&2; }

is_up() {
	[[ -f $pidfile ]] && kill -0 "$(cat "$pidfile")" 2>/dev/null
}

# port_open reports whether something accepts TCP connections on $port.
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; }

ensure_kcat() {
	command -v kcat >/dev/null 2>&1 && return 0
	say "kcat missing; installing Debian's kcat"
	if [[ $(id -u) -ne 0 ]]; then SUDO=sudo; else SUDO=; fi
	$SUDO apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq kcat >/dev/null
}

# metadata_ok asks the broker for cluster metadata; it answers only once the
# controller quorum has elected a leader and the broker is registered.
metadata_ok() {
	kcat -b "$addr" -L -m 3 -J 2>/dev/null | grep -q '"brokers":\[{'
}

fetch() {
	local stamp=$lib/.pom.sha256 want
	want=$(sha256sum "$pom" | cut -d' ' -f1)
	if [[ -f $stamp && $(cat "$stamp") == "$want" ]]; then return 0; fi
	say "fetching the pinned Kafka release with mvn (cached in $lib)"
	rm -rf "$lib" && mkdir -p "$lib"
	if ! mvn -q -B -f "$pom" dependency:copy-dependencies -DincludeScope=runtime -DoutputDirectory="$lib" >"$home/mvn.log" 2>&1; then
		say "mvn failed:"; tail -n 30 "$home/mvn.log" >&2; exit 1
	fi
	echo "$want" >"$stamp"
}

write_config() {
	mkdir -p "$data"
	cat >"$home/server.properties" <<PROPS
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$ctrl_port
listeners=PLAINTEXT://127.0.0.1:$port,CONTROLLER://127.0.0.1:$ctrl_port
advertised.listeners=PLAINTEXT://127.0.0.1:$port
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT,SSL:SSL,SASL_SSL:SASL_SSL,SASL_PLAINTEXT:SASL_PLAINTEXT
log.dirs=$data
num.partitions=1
offsets.topic.replication.factor=1
offsets.topic.num.partitions=8
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0
group.min.session.timeout.ms=1000
auto.create.topics.enable=false
delete.topic.enable=true
log.segment.bytes=16777216
PROPS
	if [[ -n ${VIGIL_KAFKA_EXTRA_PROPS:-} ]]; then cat "$VIGIL_KAFKA_EXTRA_PROPS" >>"$home/server.properties"; fi
	cat >"$home/log4j2.properties" <<'L4J'
status = warn
appender.file.type = File
appender.file.name = file
appender.file.fileName = ${sys:vigil.kafka.log}
appender.file.layout.type = PatternLayout
appender.file.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = INFO
rootLogger.appenderRef.file.ref = file
logger.kafka.name = org.apache.kafka
logger.kafka.level = WARN
logger.state.name = state.change.logger
logger.state.level = WARN
L4J
}

java_run() {
	java -Xms"$heap" -Xmx"$heap" -XX:+UseG1GC -Djava.awt.headless=true \
		-Dlog4j2.configurationFile="$home/log4j2.properties" -Dvigil.kafka.log="$log" \
		-cp "$lib/*" "$@"
}

up() {
	mkdir -p "$home"
	ensure_kcat
	if is_up && metadata_ok; then
		say "already up"; echo "$addr"; return 0
	fi
	if is_up; then say "a broker process is running but not answering; restarting it"; down; mkdir -p "$home"; fi
	if port_open; then
		if metadata_ok; then say "a broker not started by this script answers on $addr; using it"; echo "$addr"; return 0; fi
		say "port $port is taken by something that is not a Kafka broker"; exit 1
	fi
	command -v java >/dev/null || { say "java not found (Java 17+ is required)"; exit 1; }
	command -v mvn >/dev/null || { say "mvn not found (Maven is required to fetch the broker)"; exit 1; }
	fetch
	rm -rf "$data"
	write_config
	local started=$SECONDS id
	id=$(java_run kafka.tools.StorageTool random-uuid 2>>"$log" | tail -n 1)
	if ! java_run kafka.tools.StorageTool format -t "$id" -c "$home/server.properties" >>"$log" 2>&1; then
		say "formatting storage failed; last lines of $log:"; tail -n 40 "$log" >&2; exit 1
	fi
	nohup java -Xms"$heap" -Xmx"$heap" -XX:+UseG1GC -Djava.awt.headless=true \
		-Dlog4j2.configurationFile="$home/log4j2.properties" -Dvigil.kafka.log="$log" \
		-cp "$lib/*" kafka.Kafka "$home/server.properties" >>"$log" 2>&1 &
	echo $! >"$pidfile"
	local deadline=$((SECONDS + timeout))
	until metadata_ok; do
		if ! is_up; then
			say "the broker exited during start-up; last lines of $log:"; tail -n 40 "$log" >&2; rm -f "$pidfile"; exit 1
		fi
		if ((SECONDS >= deadline)); then
			say "no metadata answer within ${timeout}s; last lines of $log:"; tail -n 40 "$log" >&2; down; exit 1
		fi
		sleep 0.2
	done
	say "up on $addr after $((SECONDS - started))s (log: $log)"
	echo "$addr"
}

down() {
	if is_up; then
		local pid; pid=$(cat "$pidfile")
		kill "$pid" 2>/dev/null || true
		for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
		kill -9 "$pid" 2>/dev/null || true
		say "stopped"
	fi
	rm -f "$pidfile"
	rm -rf "$data"
}

status() {
	if is_up && metadata_ok; then echo "$addr"; else say "not up"; exit 1; fi
}

case "${1:-}" in
up) up ;;
down) down ;;
status) status ;;
*) echo "usage: $0 up|down|status" >&2; exit 2 ;;
esac
