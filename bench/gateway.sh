#!/usr/bin/env bash
# Starts Portcullis for the shared benchmark harness. bench/run.sh passes it as
#   --gateway-cmd 'exec bash <repo>/bench/gateway.sh <path to portcullis>'
# and the harness runs that once per listener kind (plain, tls, ...) with GATEWAY_SCENARIO,
# LISTEN, UPSTREAM, BENCH_TLS_CERT/KEY, BENCH_WORKERS, TOKIO_WORKER_THREADS and BENCH_ACCESS_LOG
# in the environment (see ../shared/bench/README.md, "Gateway slot").
#
# It picks bench/gw-$GATEWAY_SCENARIO.yaml, turns the access log on when the harness was given
# --access-log, and then execs the gateway: the PID the harness started becomes portcullis
# itself, so the CPU and RSS it measures are the gateway's and nothing else's.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
BIN=${1:?usage: gateway.sh PATH/TO/portcullis (started by the benchmark harness)}
kind=${GATEWAY_SCENARIO:?GATEWAY_SCENARIO is not set: this script is started by the benchmark harness}

cfg=$HERE/gw-$kind.yaml
# `bench/run.sh --identity jwt|jwt-nocache`: the apikey listener verifies a JWT instead.
identity=${BENCH_IDENTITY:-apikey}
if [[ $kind == apikey && $identity == jwt* ]]; then
  cfg=$HERE/gw-jwt.yaml
  : "${BENCH_JWT_PUBKEY:?BENCH_JWT_PUBKEY is not set (bench/run.sh --identity jwt sets it)}"
  if [[ $identity == jwt-nocache ]]; then
    nocache=$(dirname "$BENCH_JWT_PUBKEY")/gw-jwt-nocache.yaml
    sed 's|^      cache_entries: .*$|      cache_entries: 0|' "$cfg" > "$nocache"
    grep -q '^      cache_entries: 0$' "$nocache" || { echo "portcullis bench: could not turn the JWT cache off" >&2; exit 1; }
    cfg=$nocache
  fi
fi
# `bench/run.sh --state redis`: the ratelimit listener keeps its limit in Redis.
if [[ $kind == ratelimit && ${BENCH_STATE:-memory} == redis ]]; then
  : "${REDIS_URL:?REDIS_URL is not set (bench/run.sh --state redis sets it)}"
  cfg=$HERE/gw-ratelimit-redis.yaml
fi
if [[ ! -f $cfg ]]; then
  echo "portcullis bench: no config for listener kind '$kind' ($cfg)." >&2
  exit 1
fi
# The per-IP rate is a number in the config (environment references expand only in strings):
# for a BENCH_RATE other than the harness's default, run a copy with that rate.
if [[ $kind == ratelimit && -n ${BENCH_RATE:-} && $BENCH_RATE != 1000000 ]]; then
  [[ $BENCH_RATE =~ ^[0-9]+$ ]] || { echo "portcullis bench: BENCH_RATE must be a number" >&2; exit 1; }
  rated=$(mktemp --suffix=.yaml)
  sed "s|requests: 1000000   # BENCH_RATE.*|requests: $BENCH_RATE|" "$cfg" > "$rated"
  cfg=$rated
fi
[[ -x $BIN ]] || { echo "portcullis bench: $BIN is not an executable" >&2; exit 1; }

# API keys are stored hashed: make a pepper for this run and hash the harness's key with it.
if [[ $kind == apikey && $identity == apikey ]]; then
  : "${BENCH_API_KEY:?BENCH_API_KEY is not set}"
  BENCH_PEPPER=$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')
  export BENCH_PEPPER
  entry=$(printf '%s\n' "$BENCH_API_KEY" | PORTCULLIS_API_KEY_PEPPER=$BENCH_PEPPER "$BIN" keys hash)
  # entry: - { prefix: "…", hash: "…" }
  BENCH_KEY_PREFIX=$(sed -E 's/.*prefix: "([^"]*)".*/\1/' <<<"$entry")
  BENCH_KEY_HASH=$(sed -E 's/.*hash: "([0-9a-f]{64})".*/\1/' <<<"$entry")
  export BENCH_KEY_PREFIX BENCH_KEY_HASH
fi

# The config cannot branch on an environment variable (`disabled` is a bool), so for
# --access-log a copy is written next to the log file, in the harness's temp dir (removed at the
# end of the run), with the one `access_log:` line replaced. No path in the config is relative,
# so the copy behaves exactly like the original.
if [[ -n ${BENCH_ACCESS_LOG:-} ]]; then
  logged=$(dirname "$BENCH_ACCESS_LOG")/portcullis-gw-$kind.yaml
  # shellcheck disable=SC2016  # ${env:...} is for portcullis, not for the shell
  sed 's|^access_log:.*$|access_log: { path: "${env:BENCH_ACCESS_LOG}" }|' "$cfg" > "$logged"
  # shellcheck disable=SC2016
  if [[ $(grep -cxF 'access_log: { path: "${env:BENCH_ACCESS_LOG}" }' "$logged") != 1 ]]; then
    echo "portcullis bench: could not turn the access log on in $logged (one 'access_log:' line expected)" >&2
    exit 1
  fi
  cfg=$logged
fi

# Same worker limit as the peers: the harness exports TOKIO_WORKER_THREADS (read by tokio's
# runtime builder) unless the setting is `auto`; then a value inherited from the caller's shell
# must not limit the gateway either.
if [[ ${BENCH_WORKERS:-} == auto ]]; then
  unset TOKIO_WORKER_THREADS
fi

# Only warnings and errors: per-request logging would skew the CPU figures.
export PORTCULLIS_LOG=${PORTCULLIS_LOG:-warn}
exec "$BIN" run --config "$cfg"
