#!/usr/bin/env bash
# The main job, today: bring the local stack up, plan the peer kit's example push (1 image,
# 4 regions, hourly + access) with the StArMap mapping served by the stack's StArMap fake
# (online mode), then take the stack down. The whole pipeline (push) joins as it lands.
set -euo pipefail
cd "$(dirname "$0")/.."

cargo build --locked -p vmpush-cli
vmpush="$PWD/target/debug/vmpush"
kit="${VMPUSH_PEER_KIT:-../shared/peer-kit}"
work="$(mktemp -d)"
cleanup() { "$vmpush" local down >/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT

"$vmpush" local up
# shellcheck disable=SC1091
source .local-stack/env

if [ -f "$kit/gen_staged.py" ]; then
  python3 "$kit/gen_staged.py" --out "$work/case" --images 1 --image-mb 8
  case_dir="$work/case"
else
  case_dir="tests/fixtures/peer-kit-1image"
fi

set -x
"$vmpush" plan --starmap-url "$VMPUSH_STARMAP_URL" --credentials "$case_dir/credentials.json" \
  --format table "staged:$case_dir/staged"
"$vmpush" plan --starmap-url "$VMPUSH_STARMAP_URL" --credentials "$case_dir/credentials.json" \
  "staged:$case_dir/staged" > "$work/plan.json"
set +x
echo "plan.json: $(wc -c < "$work/plan.json") bytes, $(grep -c '"ami_name"' "$work/plan.json") AMI destination(s)"
echo "StArMap fake served: $(curl -s "$VMPUSH_STARMAP_URL/_fake/requests" | grep -o '"/api/v2/query"' | wc -l) query(ies)"
