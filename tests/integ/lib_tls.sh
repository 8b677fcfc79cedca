#!/bin/bash
# Sourced by the TLS tests after lib.sh: a throwaway CA in $WORK/tls ($T)
# and certificates it signs. Needs the openssl program (skips without).

command -v openssl >/dev/null || skip "needs the openssl program (apt-get install openssl)"
T=$WORK/tls

# make_ca: the CA, $T/ca.pem and $T/ca.key.
make_ca() {
	mkdir -p "$T"
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
		-keyout "$T/ca.key" -out "$T/ca.pem" -days 2 \
		-subj "/CN=zooinit test CA $$" >>"$T/openssl.log" 2>&1 ||
		fail "openssl could not make the CA (see tls/openssl.log)"
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
