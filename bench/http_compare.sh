#!/usr/bin/env bash
# teld's GET /api/v1/status vs the ASCOM Alpaca simulator's (FastAPI) GET
# /api/v1/telescope/0/devicestate, side by side in one run, with the same wrk
# settings, on loopback while teld runs a simulated night. Prints requests/s and p99
# for each and the ratio. Targets (issue 7): >= 10x the simulator's throughput and
# teld p99 < 5 ms. wrk and both servers share the machine's cores.
#
#   bench/http_compare.sh            # builds teld release first
#   DURATION=20s CONNECTIONS=32 bench/http_compare.sh
#
# Needs Debian wrk and .venv-peers (alpaca-simulators); see .ci/install-peers.
# Not run by CI: it takes a minute and judges timing.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
venv=${TELD_PEERS_VENV:-$root/.venv-peers}
target=${CARGO_TARGET_DIR:-$root/target}
duration=${DURATION:-20s}
conns=${CONNECTIONS:-32}
threads=${THREADS:-1}
teld_port=${TELD_PORT:-18480}
alpaca_port=${ALPACA_PORT:-18411}

command -v wrk >/dev/null || { echo "wrk not found: apt-get install wrk (or run .ci/install-peers)" >&2; exit 2; }
[ -x "$venv/bin/alpaca-simulators" ] || { echo "no $venv/bin/alpaca-simulators: run .ci/install-peers" >&2; exit 2; }
if [ -z "${NO_BUILD:-}" ]; then
  cargo build --release -q -p teld -p teld-driver-sim
fi

work=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

sed -e "s|^state_dir =.*|state_dir = \"$work/state\"|" \
    -e "s|^listen =.*|listen = \"127.0.0.1:$teld_port\"|" \
    -e "s|^topic_prefix =.*|topic_prefix = \"teldbench-$$\"|" \
    -e "s|^\[http\]|[http]\nauth = true|" \
    config/default.toml > "$work/teld.toml"
# With auth on, as a site on a network runs: every call pays for its token check.
token=$("$target/release/teld" token create --config "$work/teld.toml" --role admin --name bench 2>/dev/null)
auth="Authorization: Bearer $token"
RUST_LOG=warn "$target/release/teld" run --config "$work/teld.toml" \
  --simulate-from 2026-11-24T20:00:00 --speed 60 > "$work/teld.log" 2>&1 &
pids+=($!)
(cd "$work" && "$venv/bin/alpaca-simulators" --host 127.0.0.1 --port "$alpaca_port" > "$work/alpaca.log" 2>&1) &
pids+=($!)

wait_http() {
  for _ in $(seq 1 100); do
    curl -sf -o /dev/null "$1" && return 0
    sleep 0.2
  done
  echo "no answer from $1" >&2; exit 1
}
teld_url="http://127.0.0.1:$teld_port/api/v1/status"
alpaca_url="http://127.0.0.1:$alpaca_port/api/v1/telescope/0/devicestate?ClientID=1&ClientTransactionID=1"
wait_http "http://127.0.0.1:$teld_port/readyz"
wait_http "$alpaca_url"
# A night with work in it: a few requests so the executor slews and exposes.
for ra in 30 60 90; do
  curl -sf -o /dev/null -H "$auth" -H 'content-type: application/json' \
    -d "{\"target\":{\"name\":\"bench-$ra\",\"ra_deg\":$ra,\"dec_deg\":20},\"exposure_s\":30,\"count\":20}" \
    "http://127.0.0.1:$teld_port/api/v1/requests"
done

run() { # key label url [header]
  wrk -t"$threads" -c"$conns" -d"$duration" --latency ${4:+-H "$4"} "$3" > "$work/$1.wrk"
  local rps p99 non2xx
  rps=$(awk '/^Requests\/sec:/ {print $2}' "$work/$1.wrk")
  p99=$(awk '$1 == "99%" {print $2}' "$work/$1.wrk")
  non2xx=$(awk '/Non-2xx/ {print $NF}' "$work/$1.wrk")
  printf '%-36s %12s req/s   p99 %9s   non-2xx %s\n' "$2" "$rps" "$p99" "${non2xx:-0}"
  echo "$rps" > "$work/$1.rps"
}
echo "wrk -t$threads -c$conns -d$duration --latency, loopback, $(nproc) cores shared by wrk and the server"
run teld "teld GET /api/v1/status (auth on)" "$teld_url" "$auth"
run alpaca "alpaca-simulators GET devicestate" "$alpaca_url"
t=$(cat "$work/teld.rps"); a=$(cat "$work/alpaca.rps")
awk -v t="$t" -v a="$a" 'BEGIN { printf "ratio: teld is %.1fx the simulator'"'"'s throughput (target >= 10x)\n", t / a }'
if [ -n "${SHOW_WRK:-}" ]; then cat "$work/teld.wrk" "$work/alpaca.wrk"; fi
