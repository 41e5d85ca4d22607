#!/usr/bin/env bash
# The main job on the local stack: bring it up, generate a sample push (1 image, its
# metadata, and a StArMap mapping for 4 regions × hourly + access), push it with
# `vmpush push --local` as the stack's aws-us-storage account (its keys in
# .local-stack/credentials.json) through the real state machine and functions, print the result and
# the notification the SNS subscriber received, then take the stack down
# (VMPUSH_KEEP_STACK=1 leaves it running).
set -euo pipefail
cd "$(dirname "$0")/.."

for tool in cargo python3 npm; do
  command -v "$tool" >/dev/null || { echo "$tool is required (see README: requirements)" >&2; exit 1; }
done

cargo build --locked -q -p vmpush-cli
vmpush="$PWD/target/debug/vmpush"
work="$(mktemp -d)"
cleanup() {
  if [ -z "${VMPUSH_KEEP_STACK:-}" ]; then "$vmpush" local down >/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

"$vmpush" local up
# shellcheck disable=SC1091
source .local-stack/env

python3 scripts/sample.py "$work" 16
push_id="demo-$(date +%s)"
echo
echo "== vmpush push --local --credentials .local-stack/credentials.json --offline --repo-file mapping.yaml staged:… (push $push_id)"
set +e
"$vmpush" push --local --credentials "$VMPUSH_LOCAL_CREDENTIALS" --offline \
  --repo-file "$work/mapping.yaml" --push-id "$push_id" "staged:$work/staged" > "$work/result.json"
code=$?
set -e
echo
echo "== the result document (also in s3://$VMPUSH_RESULTS_BUCKET/results/$push_id/result.json)"
cat "$work/result.json"
echo
echo "== what the SNS topic's SQS subscriber received"
aws=".local-stack/tools/venv/bin/aws"
queue="$("$aws" --endpoint-url "$AWS_ENDPOINT_URL" sqs get-queue-url --queue-name vmpush-notifications \
  --query QueueUrl --output text)"
"$aws" --endpoint-url "$AWS_ENDPOINT_URL" sqs receive-message --queue-url "$queue" \
  --max-number-of-messages 10 --wait-time-seconds 2 --output json > "$work/messages.json"
python3 - "$work/messages.json" <<'PY'
import json, sys
messages = json.load(open(sys.argv[1])).get("Messages", []) if open(sys.argv[1]).read().strip() else []
for m in messages:
    envelope = json.loads(m["Body"])
    print("Subject:", envelope["Subject"])
    print("Attributes:", {k: v["Value"] for k, v in envelope.get("MessageAttributes", {}).items()})
    print(json.dumps(json.loads(envelope["Message"]), indent=2))
PY
echo
if [ "$code" -eq 0 ]; then echo "demo: every destination PUSHED"; else echo "demo: vmpush push exited $code"; fi
exit "$code"
