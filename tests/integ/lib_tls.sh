#!/bin/bash
# Sourced by the TLS tests after lib.sh: a throwaway CA in $WORK/tls ($T)
# and certificates it signs; etcdctl with the certificates zooinit made
# from the CA in $CA. Needs the openssl program (skips without).

command -v openssl >/dev/null || skip "needs the openssl program (apt-get install openssl)"
T=$WORK/tls

# make_ca [NAME]: a CA, $T/NAME.pem and $T/NAME.key (NAME defaults to ca).
make_ca() {
	local name=${1:-ca}
	mkdir -p "$T"
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
		-keyout "$T/$name.key" -out "$T/$name.pem" -days 2 \
		-subj "/CN=zooinit test $name $$" >>"$T/openssl.log" 2>&1 ||
		fail "openssl could not make the CA $name (see tls/openssl.log)"
}

# make_cert NAME SAN_IP [SUBJECT]: $T/NAME.pem and $T/NAME.key for
# IP:SAN_IP, valid for serving and for presenting as a client (etcd's
# peers do both, and so does its JSON gateway when client certificates are
# demanded); SUBJECT defaults to /CN=NAME.
make_cert() {
	local name=$1 ip=$2 subj=${3:-/CN=$1}
	printf '%s\n' "basicConstraints = critical, CA:FALSE" \
		"keyUsage = critical, digitalSignature, keyEncipherment" \
		"extendedKeyUsage = serverAuth, clientAuth" \
		"subjectAltName = IP:$ip" >"$T/$name.ext"
	openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
		-keyout "$T/$name.key" -out "$T/$name.csr" -subj "$subj" \
		>>"$T/openssl.log" 2>&1 &&
		openssl x509 -req -in "$T/$name.csr" -CA "$T/ca.pem" \
			-CAkey "$T/ca.key" -CAcreateserial -days 2 \
			-extfile "$T/$name.ext" -out "$T/$name.pem" \
			>>"$T/openssl.log" 2>&1 ||
		fail "openssl could not make the certificate of $name"
}

# Certificates zooinit made from the CA in $CA (zooinit ca init "$CA"):

# tlsdir I: where host I's agent keeps the certificates it made.
tlsdir() { printf '%s\n' "$WORK/h$1/data.zooinit/tls"; }

# cectl I ARGS...: etcdctl against host I's member with the CA and the
# client certificate host I's agent made, bounded to 15 s.
cectl() {
	local i=$1
	shift
	timeout -k 2 15 ip netns exec "$(host_ns "$i")" env ETCDCTL_API=3 \
		etcdctl --endpoints "https://$(host_ip "$i"):2379" \
		--cacert "$CA/ca.crt" --cert "$(tlsdir "$i")/client.crt" \
		--key "$(tlsdir "$i")/client.key" \
		--dial-timeout=2s --command-timeout=5s "$@"
}

# ca_healthy N: hosts 1..N answer etcdctl's health check verified against
# the CA, and h1 lists N started voters.
ca_healthy() {
	local i m
	for ((i = 1; i <= $1; i++)); do
		cectl "$i" endpoint health >/dev/null 2>&1 || return 1
	done
	m=$(cectl 1 member list 2>/dev/null | grep -c ', started, .*, false$')
	[ "$m" = "$1" ]
}
