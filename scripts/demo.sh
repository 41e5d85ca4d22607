#!/usr/bin/env bash
# The main job, today: build vmpush and plan the peer kit's example push (1 image, 4 regions,
# hourly + access) with no side effects, as a table and as JSON. Generates the example with
# ../shared/peer-kit/gen_staged.py when present, else uses the committed copy of its output.
set -euo pipefail
cd "$(dirname "$0")/.."

cargo build --locked -p vmpush-cli
vmpush=target/debug/vmpush
kit="${VMPUSH_PEER_KIT:-../shared/peer-kit}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

if [ -f "$kit/gen_staged.py" ]; then
  python3 "$kit/gen_staged.py" --out "$work/case" --images 1 --image-mb 8
  case_dir="$work/case"
else
  case_dir="tests/fixtures/peer-kit-1image"
fi

set -x
"$vmpush" plan --offline --repo-file "$case_dir/mapping.yaml" \
  --credentials "$case_dir/credentials.json" --format table "staged:$case_dir/staged"
"$vmpush" plan --offline --repo-file "$case_dir/mapping.yaml" \
  --credentials "$case_dir/credentials.json" "staged:$case_dir/staged" > "$work/plan.json"
set +x
echo "plan.json: $(wc -c < "$work/plan.json") bytes, $(grep -c '"ami_name"' "$work/plan.json") AMI destination(s)"
