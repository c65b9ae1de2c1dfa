# Sourced by .ci/test and bench/run.sh. `start_loopback_redis [LOG]` starts redis-server on a
# free 127.0.0.1 port with no persistence, waits until it answers, and sets `redis_pid` and
# `REDIS_URL`; `stop_loopback_redis` stops that process (by its PID) and nothing else.
start_loopback_redis() {
  local log=${1:-/dev/null} port
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])' 2>/dev/null || echo 16379)
  redis-server --port "$port" --bind 127.0.0.1 --save '' --appendonly no --protected-mode yes \
    >"$log" 2>&1 &
  redis_pid=$!
  for _ in $(seq 1 100); do
    if redis-cli -p "$port" ping >/dev/null 2>&1; then break; fi
    sleep 0.05
  done
  redis-cli -p "$port" ping >/dev/null
  export REDIS_URL="redis://127.0.0.1:$port"
}

stop_loopback_redis() {
  if [[ -n ${redis_pid:-} ]]; then
    kill "$redis_pid" 2>/dev/null || true
    wait "$redis_pid" 2>/dev/null || true
    redis_pid=
  fi
}
