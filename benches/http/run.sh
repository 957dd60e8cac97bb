#!/usr/bin/env bash
# HTTP throughput of the axum reference server under wrk: client_credentials issuance
# (opaque tokens, Basic auth) and introspection, 100 connections, on loopback, in-memory
# store, or the store DSN names (e.g. DSN=postgres://portcullis:portcullis@127.0.0.1/bench;
# the tables are created on first use). Needs wrk (apt-get install wrk).
# Usage: [DSN=…] benches/http/run.sh [SECONDS] [THREADS]
set -euo pipefail
cd "$(dirname "$0")/../.."
secs="${1:-20}"
threads="${2:-2}"
export DSN="${DSN:-memory}"
features=()
case "$DSN" in postgres://* | postgresql://*) features=(--features postgres) ;; esac
export SERVE_PUBLIC_PORT=14444 SERVE_ADMIN_PORT=14445 URLS_SELF_ISSUER=http://127.0.0.1:14444
export SECRETS_SYSTEM=benchmark-secret-benchmark-secret-0123
export URLS_LOGIN=http://127.0.0.1:9/login URLS_CONSENT=http://127.0.0.1:9/consent
cargo build --release "${features[@]}" --example axum_server
./target/release/examples/axum_server > /tmp/portcullis-bench-server.log 2>&1 &
server=$!
trap 'kill $server 2>/dev/null' EXIT
for _ in $(seq 50); do curl -fs http://127.0.0.1:14444/.well-known/openid-configuration >/dev/null && break; sleep 0.2; done

client=$(curl -fs -X POST http://127.0.0.1:14445/admin/clients -H 'content-type: application/json' \
  -d '{"client_name":"wrk","grant_types":["client_credentials"],"scope":"read","token_endpoint_auth_method":"client_secret_basic"}')
id=$(echo "$client" | python3 -c 'import json,sys; print(json.load(sys.stdin)["client_id"])')
secret=$(echo "$client" | python3 -c 'import json,sys; print(json.load(sys.stdin)["client_secret"])')
export BASIC=$(printf '%s:%s' "$id" "$secret" | base64 -w0)
token=$(curl -fs -u "$id:$secret" -d 'grant_type=client_credentials&scope=read' http://127.0.0.1:14444/oauth2/token \
  | python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')
export TOKEN="$token"

echo "== client_credentials (POST /oauth2/token), 100 connections, ${secs}s"
wrk -t"$threads" -c100 -d"${secs}s" -s benches/http/client_credentials.lua http://127.0.0.1:14444/oauth2/token
echo "== introspection (POST /admin/oauth2/introspect), 100 connections, ${secs}s"
wrk -t"$threads" -c100 -d"${secs}s" -s benches/http/introspect.lua http://127.0.0.1:14445/admin/oauth2/introspect
