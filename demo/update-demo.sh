#!/usr/bin/env bash
# The signed-update demo (README "Signed driver updates"): two simulated telescopes
# observe a night; `east` is parked and takes a new sim-driver build — built for real,
# signed, published, verified, swapped and health-checked — while `west` keeps
# observing; then a broken build is published and rolled back.
#
#   demo/update-demo.sh        # ~2 minutes after the builds; everything under /tmp/teld-demo, loopback only
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${CARGO_TARGET_DIR:-$(pwd)/target}/debug
demo=/tmp/teld-demo
rm -rf "$demo" && mkdir -p "$demo"
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup EXIT
say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
api() { curl -sf "http://127.0.0.1:8080$1" "${@:2}"; }
drivers() { api /api/v1/drivers | jq -r '.[] | "  \(.name): \(.status) \(.version)  installed=\(.update.installed.version // "shipped") trial=\(.update.trial.build.version // "-") bad=\([.update.bad[]?.version] | join(",")) \(.update.waiting // "")"'; }
wait_for() { # jq condition on GET /api/v1/drivers, message
  for _ in $(seq 600); do api /api/v1/drivers | jq -e "$1" >/dev/null && return 0; sleep 0.5; done
  echo "timed out waiting for: $2" >&2; exit 1
}

say "build teld and the drivers"
cargo build -q --workspace --bins
triple=$(rustc -vV | sed -n 's/^host: //p')
protocol=$(sed -n 's/^pub const PROTOCOL_VERSION: u32 = \([0-9]*\);$/\1/p' drivers/protocol/src/lib.rs)
daemon=$(sed -n 's/^version = "\(.*\)"$/\1/p' Cargo.toml | head -n1)
sha=$(git rev-parse HEAD)

say "CI: a TUF repository (root 2-of-3, targets, snapshot, timestamp keys), served on 127.0.0.1:8700"
"$bin/teld" artefact init --repo "$demo/repo" --keys "$demo/keys"
python3 -m http.server 8700 --bind 127.0.0.1 --directory "$demo/repo" >"$demo/http.log" 2>&1 &
pids+=($!)

say "the site: teld with two telescopes, a simulated night at 30x"
"$bin/teld" run --config config/examples/update-demo.toml --simulate-from 2026-11-24T20:30:00 \
  --speed 30 --log-format human >"$demo/teld.log" 2>&1 &
pids+=($!)
for _ in $(seq 100); do api /healthz >/dev/null 2>&1 && break; sleep 0.2; done
for i in 1 2 3 4 5 6; do
  api /api/v1/requests -H 'content-type: application/json' -d "{\"name\":\"neo-$i\",
    \"target\":{\"name\":\"NEO$i\",\"ra_deg\":$((10 + i * 12)),\"dec_deg\":20},
    \"exposure_s\":60,\"count\":20,\"priority\":50}" >/dev/null
done
api '/api/v1/telescopes/east/actions/stop?wait_s=30' -X POST >/dev/null
api '/api/v1/telescopes/east/actions/park?wait_s=60' -X POST | jq -c '{telescope, done, parked: .state.mount.at_park}'
drivers

say "CI: build sim driver 0.2.0 for real, sign and publish it"
TELD_DRIVER_VERSION=0.2.0 TELD_GIT_SHA=$sha cargo build -q -p teld-driver-sim
cp "$bin/teld-driver-sim" "$demo/teld-driver-sim-0.2.0"
cargo build -q -p teld-driver-sim  # back to the shipped build for `west`
"$bin/teld" artefact add --repo "$demo/repo" --file "$demo/teld-driver-sim-0.2.0" --driver sim \
  --version 0.2.0 --triple "$triple" --protocol "$protocol" --min-daemon "$daemon" --git-sha "$sha" >/dev/null
"$bin/teld" artefact publish --repo "$demo/repo" --keys "$demo/keys" | tail -n1
start=$SECONDS

say "teld picks it up: verify, stage, swap, health-check (20 s probation) — west keeps observing"
wait_for '.[] | select(.name=="east") | .update.trial != null or .version=="0.2.0"' "the trial of 0.2.0"
drivers
wait_for '.[] | select(.name=="east") | .version=="0.2.0" and .update.installed.version=="0.2.0" and .update.trial==null' "0.2.0 committed"
drivers
echo "  published -> committed in $((SECONDS - start)) s"
api /api/v1/status | jq -r '.telescopes.west | "  west is \(.activity)"'

say "CI publishes a broken 0.3.0 (exits at once): teld rolls back and marks it bad"
printf '#!/bin/sh\necho "0.3.0: cannot open device" >&2\nexit 3\n' >"$demo/teld-driver-sim-0.3.0"
"$bin/teld" artefact add --repo "$demo/repo" --file "$demo/teld-driver-sim-0.3.0" --driver sim \
  --version 0.3.0 --triple "$triple" --protocol "$protocol" --min-daemon "$daemon" --git-sha "$sha" >/dev/null
"$bin/teld" artefact publish --repo "$demo/repo" --keys "$demo/keys" | tail -n1
wait_for '.[] | select(.name=="east") | [.update.bad[]?.version] | index("0.3.0")' "0.3.0 rolled back"
wait_for '.[] | select(.name=="east") | .status=="up" and .version=="0.2.0"' "0.2.0 serving again"
drivers
grep -m1 'marked bad' "$demo/teld.log" | sed 's/^/  log: /'
api /api/v1/status | jq -r '.telescopes.west | "  west is \(.activity)"'
say "done (logs in $demo)"
