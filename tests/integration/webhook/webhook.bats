#!/usr/bin/env bats
# Integration test of `kg webhook` (the kilo_webhook_server test binary runs
# the same RunWebhook): a real HTTPS server with a self-signed certificate,
# called with curl as the API server would call it.
#
#   curl --cacert ca.crt ──TLS──> 127.0.0.1:<free port>  kilo_webhook_server
#        POST /validate  (AdmissionReview JSON)           --cert-file/--key-file
#        GET  /healthz
#
# The server listens on port 0 and logs the port it got; teardown_file kills it
# by PID (and so does an EXIT trap if bats itself dies).

bats_require_minimum_version 1.5.0

KEY1="AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyA="
KEY2="ZGVmZ2hpamtsbW5vcHFyc3R1dnd4eXp7fH1+f4CBgoM="

setup_file() {
  command -v openssl >/dev/null || skip "openssl not installed"
  command -v curl >/dev/null || skip "curl not installed"
  : "${KILO_WEBHOOK_SERVER:?set KILO_WEBHOOK_SERVER to the kilo_webhook_server binary}"
  export WH_DIR="$(mktemp -d "${BATS_RUN_TMPDIR:-/tmp}/kilo-webhook.XXXXXX")"
  openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj "/CN=kilo-webhook" \
    -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" \
    -keyout "$WH_DIR/tls.key" -out "$WH_DIR/tls.crt" 2>"$WH_DIR/openssl.log"
  "$KILO_WEBHOOK_SERVER" --cert-file "$WH_DIR/tls.crt" --key-file "$WH_DIR/tls.key" \
    --listen 127.0.0.1:0 >"$WH_DIR/server.out" 2>"$WH_DIR/server.log" 3>&- &
  export WH_PID=$!
  echo "$WH_PID" >"$WH_DIR/pid"
  local port=""
  for _ in $(seq 100); do
    port="$(sed -n 's/.*msg="listening".* port=\([0-9]*\).*/\1/p' "$WH_DIR/server.log")"
    [ -n "$port" ] && break
    kill -0 "$WH_PID" 2>/dev/null || break
    sleep 0.05
  done
  if [ -z "$port" ]; then
    cat "$WH_DIR/server.log" >&3
    false
  fi
  export WH_URL="https://localhost:$port"
}

teardown_file() {
  if [ -n "${WH_PID:-}" ] && kill -0 "$WH_PID" 2>/dev/null; then
    kill -KILL "$WH_PID" 2>/dev/null || true
  fi
  [ -n "${WH_DIR:-}" ] && rm -rf "$WH_DIR"
}

# post BODY [CONTENT_TYPE] -> sets $code and $body
post() {
  local out
  out="$(curl -sS --cacert "$WH_DIR/tls.crt" -X POST -H "Content-Type: ${2:-application/json}" \
    --data-binary "$1" -w '\n%{http_code}' "$WH_URL/validate")"
  code="${out##*$'\n'}"
  body="${out%$'\n'*}"
}

# review OPERATION SPEC_JSON -> an AdmissionReview for a Peer named "laptop"
review() {
  cat <<EOF
{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{
 "uid":"uid-$BATS_TEST_NUMBER","kind":{"group":"kilo.squat.ai","version":"v1alpha1","kind":"Peer"},
 "resource":{"group":"kilo.squat.ai","version":"v1alpha1","resource":"peers"},
 "operation":"$1","name":"laptop",
 "object":{"apiVersion":"kilo.squat.ai/v1alpha1","kind":"Peer","metadata":{"name":"laptop"},
           "spec":$2}}}
EOF
}

valid_spec() {
  echo "{\"allowedIPs\":[\"10.5.0.1/32\"],\"publicKey\":\"$KEY1\",\"presharedKey\":\"$KEY2\",
   \"endpoint\":{\"dnsOrIP\":{\"ip\":\"192.0.2.1\"},\"port\":51820},\"persistentKeepalive\":10}"
}

# expect_denied SPEC_JSON MESSAGE: CREATE is answered 200 with allowed=false,
# code 403, the request's uid and MESSAGE in the status.
expect_denied() {
  post "$(review CREATE "$1")"
  [ "$code" = 200 ] || { echo "HTTP $code: $body"; false; }
  [[ "$body" == *'"allowed":false'* ]] || { echo "$body"; false; }
  [[ "$body" == *'"code":403'* ]] || { echo "$body"; false; }
  [[ "$body" == *'"reason":"Forbidden"'* ]] || { echo "$body"; false; }
  [[ "$body" == *"\"uid\":\"uid-$BATS_TEST_NUMBER\""* ]] || { echo "$body"; false; }
  [[ "$body" == *"$2"* ]] || { echo "want: $2"; echo "got:  $body"; false; }
}

@test "healthz answers ok" {
  run curl -sS --cacert "$WH_DIR/tls.crt" "$WH_URL/healthz"
  [ "$status" -eq 0 ]
  [ "$output" = "ok" ]
}

@test "valid Peer is allowed" {
  post "$(review CREATE "$(valid_spec)")"
  [ "$code" = 200 ]
  [[ "$body" == *'"allowed":true'* ]]
  [[ "$body" == *'"uid":"uid-'"$BATS_TEST_NUMBER"'"'* ]]
  [[ "$body" == *'"apiVersion":"admission.k8s.io/v1"'* ]]
  [[ "$body" == *'"kind":"AdmissionReview"'* ]]
}

@test "valid Peer update with a DNS endpoint is allowed, on / too" {
  local spec="{\"allowedIPs\":[\"10.5.0.1/32\"],\"publicKey\":\"$KEY1\",
    \"endpoint\":{\"dnsOrIP\":{\"dns\":\"vpn.example.com\"},\"port\":51820}}"
  run curl -sS --cacert "$WH_DIR/tls.crt" -H 'Content-Type: application/json' \
    --data-binary "$(review UPDATE "$spec")" "$WH_URL/"
  [ "$status" -eq 0 ]
  [[ "$output" == *'"allowed":true'* ]]
}

@test "invalid public key is denied" {
  expect_denied "{\"allowedIPs\":[\"10.5.0.1/32\"],\"publicKey\":\"not-a-key\"}" \
    'spec.publicKey \"not-a-key\" is not a valid WireGuard key (base64 of 32 bytes)'
}

@test "invalid preshared key is denied without echoing it" {
  expect_denied "{\"allowedIPs\":[\"10.5.0.1/32\"],\"publicKey\":\"$KEY1\",\"presharedKey\":\"c2VjcmV0\"}" \
    'spec.presharedKey is not a valid WireGuard key (base64 of 32 bytes)'
  [[ "$body" != *c2VjcmV0* ]]
}

@test "no allowed IPs is denied" {
  expect_denied "{\"allowedIPs\":[],\"publicKey\":\"$KEY1\"}" \
    'spec.allowedIPs must have at least one CIDR'
}

@test "allowed IP that is not a CIDR is denied" {
  expect_denied "{\"allowedIPs\":[\"10.5.0.1/32\",\"10.0.0.1\"],\"publicKey\":\"$KEY1\"}" \
    'spec.allowedIPs[1] \"10.0.0.1\" is not a valid CIDR'
}

@test "endpoint port out of range is denied" {
  expect_denied "{\"allowedIPs\":[\"10.5.0.1/32\"],\"publicKey\":\"$KEY1\",\"endpoint\":{\"dnsOrIP\":{\"ip\":\"192.0.2.1\"},\"port\":70000}}" \
    'spec.endpoint.port 70000 is out of range 1-65535'
}

@test "endpoint with an invalid IP is denied" {
  expect_denied "{\"allowedIPs\":[\"10.5.0.1/32\"],\"publicKey\":\"$KEY1\",\"endpoint\":{\"dnsOrIP\":{\"ip\":\"192.0.2.300\"},\"port\":51820}}" \
    'spec.endpoint.dnsOrIP.ip \"192.0.2.300\" is not a valid IP address'
}

@test "endpoint with an invalid DNS name is denied" {
  expect_denied "{\"allowedIPs\":[\"10.5.0.1/32\"],\"publicKey\":\"$KEY1\",\"endpoint\":{\"dnsOrIP\":{\"dns\":\"under_score.example\"},\"port\":51820}}" \
    'spec.endpoint.dnsOrIP.dns \"under_score.example\" is not a valid RFC 1123 DNS name'
}

@test "endpoint with neither IP nor DNS is denied" {
  expect_denied "{\"allowedIPs\":[\"10.5.0.1/32\"],\"publicKey\":\"$KEY1\",\"endpoint\":{\"dnsOrIP\":{},\"port\":51820}}" \
    'spec.endpoint needs dnsOrIP.ip or dnsOrIP.dns (neither is set)'
}

@test "negative persistent keepalive is denied" {
  expect_denied "{\"allowedIPs\":[\"10.5.0.1/32\"],\"publicKey\":\"$KEY1\",\"persistentKeepalive\":-1}" \
    'spec.persistentKeepalive -1 must not be negative'
}

@test "all problems are listed in one message" {
  expect_denied "{\"allowedIPs\":[\"nope\"],\"publicKey\":\"x\",\"persistentKeepalive\":-1}" \
    'Peer \"laptop\" is invalid: spec.publicKey \"x\" is not a valid WireGuard key (base64 of 32 bytes); spec.allowedIPs[0] \"nope\" is not a valid CIDR; spec.persistentKeepalive -1 must not be negative'
}

@test "DELETE of a Peer is allowed" {
  post '{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"d1",
    "kind":{"group":"kilo.squat.ai","version":"v1alpha1","kind":"Peer"},"operation":"DELETE",
    "oldObject":{"spec":{"publicKey":"x"}}}}'
  [ "$code" = 200 ]
  [[ "$body" == *'"allowed":true'* ]]
}

@test "malformed JSON gets 400" {
  post '{"apiVersion": "admission.k8s.io/v1", "kind":'
  [ "$code" = 400 ]
  [[ "$body" == *"request body is not valid JSON"* ]]
}

@test "JSON that is not an AdmissionReview gets 400" {
  post '{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview"}'
  [ "$code" = 400 ]
  [[ "$body" == *"AdmissionReview without a request object"* ]]
  post '[1,2,3]'
  [ "$code" = 400 ]
}

@test "GET /validate gets 405" {
  run curl -sS --cacert "$WH_DIR/tls.crt" -o /dev/null -w '%{http_code}' "$WH_URL/validate"
  [ "$output" = 405 ]
}

@test "wrong content type gets 415, oversized body 413, unknown path 404" {
  post "$(review CREATE "$(valid_spec)")" text/plain
  [ "$code" = 415 ]
  head -c 1100000 /dev/zero | tr '\0' ' ' >"$WH_DIR/big.json"
  run curl -sS --cacert "$WH_DIR/tls.crt" -o /dev/null -w '%{http_code}' \
    -H 'Content-Type: application/json' --data-binary @"$WH_DIR/big.json" "$WH_URL/validate"
  [ "$output" = 413 ]
  run curl -sS --cacert "$WH_DIR/tls.crt" -o /dev/null -w '%{http_code}' "$WH_URL/nope"
  [ "$output" = 404 ]
}

@test "keep-alive: several requests on one connection" {
  run curl -sS --cacert "$WH_DIR/tls.crt" -w '%{num_connects}\n' \
    "$WH_URL/healthz" "$WH_URL/healthz" "$WH_URL/healthz"
  [ "$status" -eq 0 ]
  [ "$(grep -c '^ok' <<<"$output")" -eq 3 ]
  # One new connection for the first request, none for the others.
  [ "$(grep -c '^0$' <<<"$output")" -eq 2 ]
}

@test "plain HTTP and garbage do not kill the server" {
  local port="${WH_URL##*:}"
  run curl -sS -m 5 "http://127.0.0.1:$port/healthz"
  [ "$status" -ne 0 ]
  head -c 4096 /dev/urandom | timeout 5 bash -c "cat >/dev/tcp/127.0.0.1/$port" || true
  run curl -sS --cacert "$WH_DIR/tls.crt" "$WH_URL/healthz"
  [ "$output" = "ok" ]
}

@test "server is still alive after all requests" {
  kill -0 "$WH_PID"
  run curl -sS --cacert "$WH_DIR/tls.crt" "$WH_URL/healthz"
  [ "$output" = "ok" ]
}

@test "unreadable certificate files give a clear error and exit 1" {
  run "$KILO_WEBHOOK_SERVER" --cert-file "$WH_DIR/missing.crt" --key-file "$WH_DIR/tls.key" \
    --listen 127.0.0.1:0
  [ "$status" -eq 1 ]
  [[ "$output" == *"--cert-file $WH_DIR/missing.crt: No such file or directory"* ]]
  run "$KILO_WEBHOOK_SERVER" --cert-file "$WH_DIR/tls.crt" --key-file "$WH_DIR/tls.crt" \
    --listen 127.0.0.1:0
  [ "$status" -eq 1 ]
  [[ "$output" == *"--key-file $WH_DIR/tls.crt: not a PEM private key"* ]]
  run "$KILO_WEBHOOK_SERVER" --key-file "$WH_DIR/tls.key"
  [ "$status" -ne 0 ]
  [[ "$output" == *"--cert-file is required"* ]]
}

@test "SIGTERM stops the server cleanly" {
  kill -TERM "$WH_PID"
  for _ in $(seq 100); do
    kill -0 "$WH_PID" 2>/dev/null || break
    sleep 0.05
  done
  ! kill -0 "$WH_PID" 2>/dev/null
  grep -q 'msg="shutting down" signal="Terminated"' "$WH_DIR/server.log"
  # The server is setup_file's child, not ours, so its exit status cannot be
  # waited for here: the log line shows the signal was handled, not fatal.
}
