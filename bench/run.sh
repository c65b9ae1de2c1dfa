#!/usr/bin/env bash
# Portcullis beside nginx, HAProxy and Caddy on the shared proxy benchmark (../shared/bench).
#
#   bash bench/run.sh                   build the release binary, then scenarios plain, tls and
#                                       tls-h2 for every peer and Portcullis, 3 rounds x 10 s
#   bash bench/run.sh --duration 5      any option of the shared harness is passed through
#   bash bench/run.sh --rounds 5 --duration 10     figures to quote (idle machine only)
#   bash bench/run.sh --setup           run the shared setup.sh first (apt peers + tools; root)
#   bash bench/run.sh --no-build        use the existing release binary as it is
#   bash bench/run.sh --identity jwt    scenarios plain + apikey, where the apikey listener
#                                       checks an RS256 JWT (sent in X-Api-Key) plus a role;
#                                       jwt-nocache verifies the signature on every request
#   bash bench/run.sh --state redis     the ratelimit listener keeps its limit in a Redis that
#                                       this script starts on loopback (and stops after)
#   bash bench/run.sh --help            this text, then the harness's own options
#
# Environment: SHARED_BENCH (default <repo>/../shared/bench), PORTCULLIS_BIN (a binary to use
# instead of building one), CARGO_TARGET_DIR (respected), PORTCULLIS_LOG (default warn).
# Results: bench/results/portcullis-<UTC time>.json (not committed), then bench/targets.py
# prints Portcullis against the project's targets. See bench/README.md.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/.." && pwd)
log() { printf '[portcullis-bench] %s\n' "$*" >&2; }
die() { log "error: $*"; exit 2; }

setup=0 build=1 help=0 out= identity=apikey state=memory
pass=()
while (($#)); do
  case $1 in
    --identity) identity=${2:?--identity needs apikey, jwt or jwt-nocache}; shift ;;
    --identity=*) identity=${1#--identity=} ;;
    --state) state=${2:?--state needs memory or redis}; shift ;;
    --state=*) state=${1#--state=} ;;
    --setup) setup=1 ;;
    --no-build) build=0 ;;
    -h | --help) help=1 ;;
    --out)
      pass+=("$1")
      if (($# >= 2)); then out=$2; pass+=("$2"); shift; fi
      ;;
    --out=*) out=${1#--out=}; pass+=("$1") ;;
    *) pass+=("$1") ;;
  esac
  shift
done

SHARED_BENCH=${SHARED_BENCH:-$REPO/../shared/bench}
if [[ ! -f $SHARED_BENCH/run.sh || ! -f $SHARED_BENCH/bench.py ]]; then
  ((help)) && sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "${BASH_SOURCE[0]}"
  die "shared benchmark not found at $SHARED_BENCH (set SHARED_BENCH to its folder)"
fi
SHARED_BENCH=$(cd "$SHARED_BENCH" && pwd)

if ((help)); then
  sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "${BASH_SOURCE[0]}"
  echo; echo "Options of the shared harness ($SHARED_BENCH/run.sh):"
  exec bash "$SHARED_BENCH/run.sh" --help
fi

# ------------------------------------------------------------------ peers and load tools
# What bench.py looks up on PATH with the default peers and scenarios.
tools=(nginx haproxy caddy wrk h2load openssl python3)
missing() { local t m=(); for t in "${tools[@]}"; do command -v "$t" >/dev/null 2>&1 || m+=("$t"); done; echo "${m[*]:-}"; }
miss=$(missing)
if ((setup)) || [[ -n $miss ]]; then
  [[ -n $miss ]] && log "missing: $miss -> bash $SHARED_BENCH/setup.sh"
  if [[ -w $SHARED_BENCH/upstream ]]; then
    bash "$SHARED_BENCH/setup.sh"
  else
    # The shared folder is read-only here: hide cargo so setup.sh skips building its optional
    # Rust upstream (only `--upstream rust` and the stand-in proxy need it).
    PATH=$(printf '%s' "$PATH" | tr ':' '\n' | grep -v '/\.cargo/bin' | paste -sd: -) \
      bash "$SHARED_BENCH/setup.sh"
  fi
  miss=$(missing)
  [[ -z $miss ]] || die "still missing after setup: $miss"
fi

# ------------------------------------------------------------------ the gateway binary
if [[ -n ${PORTCULLIS_BIN:-} ]]; then
  BIN=$PORTCULLIS_BIN
  log "using PORTCULLIS_BIN=$BIN (not building)"
else
  target_dir=${CARGO_TARGET_DIR:-target}
  [[ $target_dir == /* ]] || target_dir=$REPO/$target_dir   # cargo resolves it from $REPO below
  BIN=$target_dir/release/portcullis
  if ((build)); then
    command -v cargo >/dev/null 2>&1 || die "cargo not found (or use --no-build / PORTCULLIS_BIN)"
    log "cargo build --release -p portcullis --locked"
    (cd "$REPO" && cargo build --release -p portcullis --locked)
  fi
fi
[[ -x $BIN ]] || die "$BIN not found or not executable"
BIN=$(cd "$(dirname "$BIN")" && pwd)/$(basename "$BIN")

# ------------------------------------------------------------------ run the harness
# One gateway process per listener kind: `plain` on 18090, `tls` on 18091, the latter serving
# both tls (wrk) and tls-h2 (h2load). The harness measures the gateway only in the scenarios
# named in --gateway-scenarios, so tls-h2 must be named there too. Later arguments override
# earlier ones, so anything the user passes wins.
# --identity jwt: a fresh RSA key pair and one RS256 token for the run; the harness sends the
# token as its "API key" (X-Api-Key) and the gateway's apikey listener verifies it as a JWT.
identity_args=()
case $identity in
  apikey) ;;
  jwt | jwt-nocache)
    jwt_dir=$(mktemp -d)
    trap 'rm -rf "$jwt_dir"' EXIT
    openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$jwt_dir/key.pem" 2>/dev/null
    openssl pkey -in "$jwt_dir/key.pem" -pubout -out "$jwt_dir/pub.pem"
    b64url() { openssl base64 -A | tr '+/' '-_' | tr -d '='; }
    now=$(date +%s)
    head=$(printf '{"alg":"RS256","typ":"JWT","kid":"bench-rsa"}' | b64url)
    body=$(printf '{"iss":"https://bench.portcullis.test","aud":"bench","sub":"bench-client","roles":["client"],"iat":%d,"exp":%d}' "$now" $((now + 86400)) | b64url)
    sig=$(printf '%s.%s' "$head" "$body" | openssl dgst -sha256 -sign "$jwt_dir/key.pem" -binary | b64url)
    export BENCH_IDENTITY=$identity BENCH_JWT_PUBKEY=$jwt_dir/pub.pem
    identity_args=(--api-key "$head.$body.$sig" --scenarios plain,apikey --gateway-scenarios plain,apikey)
    log "identity: apikey listener verifies an RS256 JWT ($identity)"
    ;;
  *) die "--identity: apikey, jwt or jwt-nocache" ;;
esac

# --state redis: a redis-server on a free loopback port for the run, stopped (by PID) after.
# shellcheck source=../.ci/redis.sh
source "$REPO/.ci/redis.sh"
redis_pid=
case $state in
  memory) ;;
  redis)
    command -v redis-server >/dev/null 2>&1 || die "--state redis needs redis-server (apt-get install redis-server)"
    trap 'stop_loopback_redis; rm -rf "${jwt_dir:-}"' EXIT
    start_loopback_redis
    export BENCH_STATE=redis
    log "state: the ratelimit limit lives in redis-server on $REDIS_URL (pid $redis_pid)"
    ;;
  *) die "--state: memory or redis" ;;
esac

mkdir -p "$HERE/results"
default_out=$HERE/results/portcullis-$(date -u +%Y%m%dT%H%M%SZ).json
[[ -n $out ]] || out=$default_out
gw_cmd="exec bash $(printf '%q' "$HERE/gateway.sh") $(printf '%q' "$BIN")"
args=(
  --gateway-cmd "$gw_cmd"
  --gateway-name portcullis
  --gateway-port 18090
  --gateway-scenarios plain,apikey,reject,ratelimit,tls,tls-h2
  --scenarios plain,apikey,reject,ratelimit,tls,tls-h2
  --out "$default_out"
  "${identity_args[@]}"
  "${pass[@]}"
)
log "binary: $BIN ($("$BIN" version 2>/dev/null || echo 'version unknown'))"
printf -v shown ' %q' "${args[@]}"
log "bash $SHARED_BENCH/run.sh$shown"
rc=0
bash "$SHARED_BENCH/run.sh" "${args[@]}" || rc=$?
stop_loopback_redis
if ((rc == 0)) && [[ -f $out ]]; then
  echo
  python3 "$HERE/targets.py" "$out" || true
fi
exit "$rc"
