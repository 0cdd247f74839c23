#!/usr/bin/env bash
# Issue 8's timing: from `teld artefact publish` returning to the new driver serving
# (up, speaking the new version) and to it being committed (through the probation
# window), on loopback. The repository is served over HTTP by a real static file server
# (python3 -m http.server) the way a CI artefact bucket would be; teld runs the embedded
# simulated observatory with [update] on. Target: committed in under 60 s, including the
# probation window.
#
#   bench/update_timing.sh                 # poll 30 s, probation 20 s (the defaults), 3 releases
#   POLL=1 PROBATION=1 REPS=1 bench/update_timing.sh   # CI smoke: seconds, not judged
#
# Uses the debug build in $CARGO_TARGET_DIR (timing is dominated by the poll and the
# probation window, not by CPU). The new "builds" are signed wrapper scripts around the
# real teld-driver-sim (`--report-version`), so each release costs no compile.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
bin=${CARGO_TARGET_DIR:-$root/target}/debug
poll=${POLL:-30}
probation=${PROBATION:-20}
reps=${REPS:-3}
teld="$bin/teld"
[ -x "$teld" ] && [ -x "$bin/teld-driver-sim" ] || cargo build -q -p teld -p teld-driver-sim

work=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

"$teld" artefact init --repo "$work/repo" --keys "$work/keys" >/dev/null
http_port=$(python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])')
python3 -m http.server "$http_port" --bind 127.0.0.1 --directory "$work/repo" >"$work/http.log" 2>&1 &
pids+=($!)

sed -e "s|^state_dir =.*|state_dir = \"$work/state\"|" \
    -e "s|^listen =.*|listen = \"127.0.0.1:0\"|" \
    config/default.toml >"$work/teld.toml"
cat >>"$work/teld.toml" <<TOML

[update]
enabled = true
source = "http://127.0.0.1:$http_port/"
root = "$work/repo/metadata/1.root.json"
poll_interval_s = $poll
probation_s = $probation
TOML

"$teld" run --config "$work/teld.toml" --simulate-from 2026-11-24T13:00:00 --speed 1 \
  --log-format human >"$work/teld.log" 2>&1 &
pids+=($!)
for _ in $(seq 300); do
  addr=$(sed -n 's/.*listening on \([0-9.:]*\).*/\1/p' "$work/teld.log" | head -n1)
  [ -n "$addr" ] && break
  sleep 0.1
done
[ -n "$addr" ] || { echo "teld did not start:"; tail -20 "$work/teld.log"; exit 1; }

sim() { curl -s "http://$addr/api/v1/drivers" | jq -c '.[] | select(.name=="sim")'; }
wait_until() { # jq condition on the sim driver, timeout s → prints seconds since $t0
  local cond=$1 limit=$2
  while :; do
    if sim | jq -e "$cond" >/dev/null 2>&1; then
      python3 -c "import time;print(f'{time.time()-$t0:.1f}')"
      return 0
    fi
    if python3 -c "import time,sys;sys.exit(0 if time.time()-$t0>$limit else 1)"; then
      echo "timeout"; return 0
    fi
    sleep 0.1
  done
}
t0=$(python3 -c 'import time;print(time.time())')
wait_until '.status=="up"' 60 >/dev/null

triple=$(rustc -vV | sed -n 's/^host: //p')
protocol=$(sed -n 's/^pub const PROTOCOL_VERSION: u32 = \([0-9]*\);$/\1/p' drivers/protocol/src/lib.rs)
daemon=$(sed -n 's/^version = "\(.*\)"$/\1/p' Cargo.toml | head -n1)
printf '%-8s %-22s %-24s %-10s %s\n' release "publish->serving (s)" "publish->committed (s)" target "committed/target"
worst=0
for i in $(seq 1 "$reps"); do
  v="0.$((i + 1)).0"
  sha=$(printf 'dec0de%034d' "$((i + 1))")
  printf '#!/bin/sh\nexec %s --report-version %s --report-git-sha %s "$@"\n' "$bin/teld-driver-sim" "$v" "$sha" >"$work/build-$v"
  "$teld" artefact add --repo "$work/repo" --file "$work/build-$v" --driver sim --version "$v" \
    --triple "$triple" --protocol "$protocol" --min-daemon "$daemon" --git-sha "$sha" >/dev/null
  "$teld" artefact publish --repo "$work/repo" --keys "$work/keys" >/dev/null
  t0=$(python3 -c 'import time;print(time.time())')
  serving=$(wait_until ".status==\"up\" and .version==\"$v\"" $((poll + probation + 120)))
  committed=$(wait_until ".version==\"$v\" and .update.installed.version==\"$v\" and .update.trial==null" $((poll + probation + 120)))
  ratio=$(python3 -c "print('n/a' if '$committed'=='timeout' else f'{float(\"$committed\")/60:.2f}')")
  printf '%-8s %-22s %-24s %-10s %s\n' "$v" "$serving" "$committed" "60 s" "$ratio"
  worst=$(python3 -c "print(max(float('$worst'), 1e9 if '$committed'=='timeout' else float('$committed')))")
done
echo "poll_interval_s=$poll probation_s=$probation; worst publish->committed ${worst} s vs target 60 s"
