#!/usr/bin/env bash
# Runs a single-node Apache Kafka broker (KRaft, combined broker+controller)
# on 127.0.0.1 for development and the integration tests.
#
#   scripts/kafka.sh up      fetch the pinned release if needed, start, wait, print the bootstrap address
#   scripts/kafka.sh down    stop it and remove its data
#   scripts/kafka.sh status  print the bootstrap address if it is up, exit 1 otherwise
#   scripts/kafka.sh tls-env print `export VIGIL_KAFKA_TLS_…` lines for the secured listeners
#
# Besides the plaintext listener the broker serves, on the same node, three
# secured listeners for the TLS and SASL tests of internal/kafkaconn:
#
#   SSL       127.0.0.1:PORT+2  TLS, server authentication only
#   SASL_SSL  127.0.0.1:PORT+3  TLS + SASL PLAIN, SCRAM-SHA-256, SCRAM-SHA-512 (user vigil)
#   MTLS      127.0.0.1:PORT+4  TLS, client certificate required
#
# Their CA, keys, stores and the SASL password are made with openssl and
# keytool in $VIGIL_KAFKA_HOME/tls (made once, remade when missing or about
# to expire); the listener addresses are written to tls/listeners.env while
# the broker is up. stdout carries only the plaintext bootstrap address (the
# Makefile captures it); the other addresses go to stderr.
#
# Settings (environment):
#   VIGIL_KAFKA_PORT        client listener port            (default 19092)
#   VIGIL_KAFKA_CTRL_PORT   controller listener port        (default PORT+1)
#   VIGIL_KAFKA_HOME        jars, data, log and pid file    (default <repo>/.cache/kafka)
#   VIGIL_KAFKA_START_TIMEOUT seconds to wait for metadata  (default 90)
#   VIGIL_KAFKA_HEAP        JVM heap                        (default 512m)
#   VIGIL_KAFKA_EXTRA_PROPS a file of extra server.properties lines
#   VIGIL_KAFKA_SSL_PORT    TLS listener port               (default PORT+2)
#   VIGIL_KAFKA_SASL_PORT   SASL_SSL listener port          (default PORT+3)
#   VIGIL_KAFKA_MTLS_PORT   mutual-TLS listener port        (default PORT+4)
#   VIGIL_KAFKA_SECURE      0 to serve the plaintext listener only (default 1)
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
ssl_port=${VIGIL_KAFKA_SSL_PORT:-$((port + 2))}
sasl_port=${VIGIL_KAFKA_SASL_PORT:-$((port + 3))}
mtls_port=${VIGIL_KAFKA_MTLS_PORT:-$((port + 4))}
secure=${VIGIL_KAFKA_SECURE:-1}
tls=$home/tls

say() { echo "kafka: $*" >&2; }

is_up() {
	[[ -f $pidfile ]] && kill -0 "$(cat "$pidfile")" 2>/dev/null
}

# port_open reports whether something accepts TCP connections on $1 (default $port).
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/${1:-$port}") 2>/dev/null; }

# secure_ok reports whether the secured listeners are wanted and open, or not wanted.
secure_ok() {
	[[ $secure == 0 ]] && return 0
	port_open "$ssl_port" && port_open "$sasl_port" && port_open "$mtls_port"
}

# make_tls makes the test CA, the broker's keystore and truststore, a client
# certificate for the mutual-TLS listener and the SASL user's password, unless
# they exist and stay valid for another week. Keys are EC P-256.
make_tls() {
	local f ok=1
	for f in ca.pem ca-key.pem server.p12 truststore.p12 client.pem client-key.pem store-password sasl-username sasl-password; do
		[[ -s $tls/$f ]] || ok=0
	done
	if [[ $ok == 1 ]] && openssl x509 -checkend 604800 -noout -in "$tls/ca.pem" >/dev/null &&
		openssl x509 -checkend 604800 -noout -in "$tls/client.pem" >/dev/null; then
		return 0
	fi
	if ! command -v openssl >/dev/null; then
		say "openssl missing; installing Debian's openssl (for the TLS listeners; VIGIL_KAFKA_SECURE=0 skips them)"
		if [[ $(id -u) -ne 0 ]]; then SUDO=sudo; else SUDO=; fi
		$SUDO apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq openssl >/dev/null ||
			{ say "could not install openssl"; exit 1; }
	fi
	command -v keytool >/dev/null || { say "keytool not found (needed for the TLS listeners; VIGIL_KAFKA_SECURE=0 skips them)"; exit 1; }
	say "making the test CA, broker keystore and SASL user in $tls"
	rm -rf "$tls" && mkdir -p "$tls" && chmod 700 "$tls"
	(
		cd "$tls"
		umask 077
		openssl rand -hex 16 >store-password
		echo vigil >sasl-username
		openssl rand -hex 16 >sasl-password
		local pass; pass=$(cat store-password)
		openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout ca-key.pem -out ca.pem \
			-days 825 -subj "/CN=Vigil test CA" \
			-addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
		openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout server-key.pem -out server.csr \
			-subj "/CN=localhost" 2>/dev/null
		openssl x509 -req -in server.csr -CA ca.pem -CAkey ca-key.pem -CAcreateserial -out server.pem -days 825 \
			-extfile <(printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\nkeyUsage=critical,digitalSignature\n') 2>/dev/null
		openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout client-key.pem -out client.csr \
			-subj "/CN=vigil-client" 2>/dev/null
		openssl x509 -req -in client.csr -CA ca.pem -CAkey ca-key.pem -CAcreateserial -out client.pem -days 825 \
			-extfile <(printf 'extendedKeyUsage=clientAuth\nkeyUsage=critical,digitalSignature\n') 2>/dev/null
		openssl pkcs12 -export -name broker -inkey server-key.pem -in server.pem -certfile ca.pem \
			-out server.p12 -passout "pass:$pass"
		keytool -importcert -noprompt -alias vigil-test-ca -file ca.pem -keystore truststore.p12 \
			-storetype PKCS12 -storepass "$pass" >/dev/null 2>&1
		rm -f server.csr client.csr ca.srl
		chmod 644 ca.pem client.pem server.pem
	) || { say "making the TLS material failed"; rm -rf "$tls"; exit 1; }
}

# secure_props prints the server.properties lines of the secured listeners.
secure_props() {
	local pass user pw
	pass=$(cat "$tls/store-password") user=$(cat "$tls/sasl-username") pw=$(cat "$tls/sasl-password")
	cat <<PROPS
ssl.keystore.type=PKCS12
ssl.keystore.location=$tls/server.p12
ssl.keystore.password=$pass
ssl.key.password=$pass
ssl.truststore.type=PKCS12
ssl.truststore.location=$tls/truststore.p12
ssl.truststore.password=$pass
listener.name.mtls.ssl.client.auth=required
listener.name.sasl_ssl.sasl.enabled.mechanisms=PLAIN,SCRAM-SHA-256,SCRAM-SHA-512
listener.name.sasl_ssl.plain.sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required user_$user="$pw";
listener.name.sasl_ssl.scram-sha-256.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;
listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;
PROPS
}

# listeners_env prints the secured listeners' addresses and the TLS directory
# as shell assignments (written to tls/listeners.env while the broker is up).
listeners_env() {
	cat <<ENV
VIGIL_KAFKA_TLS_DIR=$tls
VIGIL_KAFKA_TLS_BROKERS=127.0.0.1:$ssl_port
VIGIL_KAFKA_SASL_BROKERS=127.0.0.1:$sasl_port
VIGIL_KAFKA_MTLS_BROKERS=127.0.0.1:$mtls_port
ENV
}

say_secure() {
	[[ $secure == 0 ]] && return 0
	say "TLS on 127.0.0.1:$ssl_port, SASL_SSL (PLAIN, SCRAM-SHA-256/512, user $(cat "$tls/sasl-username")) on 127.0.0.1:$sasl_port, mutual TLS on 127.0.0.1:$mtls_port; CA $tls/ca.pem"
}

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
	local listeners=PLAINTEXT://127.0.0.1:$port,CONTROLLER://127.0.0.1:$ctrl_port advertised=PLAINTEXT://127.0.0.1:$port
	if [[ $secure != 0 ]]; then
		listeners+=,SSL://127.0.0.1:$ssl_port,SASL_SSL://127.0.0.1:$sasl_port,MTLS://127.0.0.1:$mtls_port
		advertised+=,SSL://127.0.0.1:$ssl_port,SASL_SSL://127.0.0.1:$sasl_port,MTLS://127.0.0.1:$mtls_port
	fi
	cat >"$home/server.properties" <<PROPS
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$ctrl_port
listeners=$listeners
advertised.listeners=$advertised
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT,SSL:SSL,SASL_SSL:SASL_SSL,SASL_PLAINTEXT:SASL_PLAINTEXT,MTLS:SSL
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
	if [[ $secure != 0 ]]; then secure_props >>"$home/server.properties"; fi
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
	if is_up && metadata_ok && secure_ok; then
		say "already up"; say_secure; echo "$addr"; return 0
	fi
	if is_up && metadata_ok; then say "the running broker has no secured listeners (started by an older kafka.sh?); restarting it"; down; mkdir -p "$home"
	elif is_up; then say "a broker process is running but not answering; restarting it"; down; mkdir -p "$home"; fi
	if port_open; then
		if metadata_ok; then say "a broker not started by this script answers on $addr; using it"; echo "$addr"; return 0; fi
		say "port $port is taken by something that is not a Kafka broker"; exit 1
	fi
	command -v java >/dev/null || { say "java not found (Java 17+ is required)"; exit 1; }
	command -v mvn >/dev/null || { say "mvn not found (Maven is required to fetch the broker)"; exit 1; }
	if [[ $secure != 0 ]]; then
		local p
		for p in "$ssl_port" "$sasl_port" "$mtls_port"; do
			if port_open "$p"; then say "port $p (a secured listener) is taken; set VIGIL_KAFKA_SSL_PORT/SASL_PORT/MTLS_PORT or VIGIL_KAFKA_SECURE=0"; exit 1; fi
		done
	fi
	fetch
	rm -rf "$data"
	local started=$SECONDS id scram=()
	if [[ $secure != 0 ]]; then
		make_tls
		local user pw; user=$(cat "$tls/sasl-username") pw=$(cat "$tls/sasl-password")
		scram=(--add-scram "SCRAM-SHA-256=[name=$user,password=\"$pw\"]" --add-scram "SCRAM-SHA-512=[name=$user,password=\"$pw\"]")
	fi
	write_config
	id=$(java_run kafka.tools.StorageTool random-uuid 2>>"$log" | tail -n 1)
	if ! java_run kafka.tools.StorageTool format -t "$id" -c "$home/server.properties" "${scram[@]}" >>"$log" 2>&1; then
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
	if [[ $secure != 0 ]]; then
		until secure_ok; do
			if ((SECONDS >= deadline)); then
				say "the secured listeners did not open within ${timeout}s; last lines of $log:"; tail -n 40 "$log" >&2; down; exit 1
			fi
			sleep 0.2
		done
		listeners_env >"$tls/listeners.env"
	fi
	say "up on $addr after $((SECONDS - started))s (log: $log)"
	say_secure
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
	rm -f "$pidfile" "$tls/listeners.env"
	rm -rf "$data"
}

status() {
	if is_up && metadata_ok; then
		if secure_ok; then say_secure; else say "the secured listeners are not open"; fi
		echo "$addr"
	else say "not up"; exit 1; fi
}

# tls_env prints export lines for the secured listeners when they are up,
# leaving alone any of the variables already set.
tls_env() {
	[[ $secure != 0 ]] && is_up && secure_ok || return 0
	local line name
	while IFS= read -r line; do
		name=${line%%=*}
		[[ -n ${!name:-} ]] || printf 'export %q\n' "$line"
	done < <(listeners_env)
}

case "${1:-}" in
up) up ;;
down) down ;;
status) status ;;
tls-env) tls_env ;;
*) echo "usage: $0 up|down|status|tls-env" >&2; exit 2 ;;
esac
