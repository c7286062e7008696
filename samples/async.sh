#!/usr/bin/env bash
# Create an async OCR job for a file, poll it until it finishes, print the final answer.
#   samples/async.sh samples/scan.pdf [http://127.0.0.1:8080]
# Set TESSERA_KEY to send a bearer key, TTL for x-bf-async-job-result-ttl (seconds).
set -euo pipefail
file=${1:?usage: samples/async.sh FILE [BASE_URL]}
base=${2:-http://127.0.0.1:8080}
auth=()
[ -n "${TESSERA_KEY:-}" ] && auth=(-H "Authorization: Bearer $TESSERA_KEY")
body=$(mktemp)
trap 'rm -f "$body"' EXIT
printf '{"model":"tesseract","document":{"type":"document_url","document_url":"data:application/octet-stream;base64,%s"}}' \
  "$(base64 -w0 "$file")" > "$body"
job=$(curl -sS --fail-with-body "${auth[@]}" -H 'Content-Type: application/json' \
  -H "x-bf-async-job-result-ttl: ${TTL:-3600}" --data-binary @"$body" "$base/v1/async/ocr")
id=$(python3 -c 'import json, sys; print(json.loads(sys.argv[1])["id"])' "$job")
echo "job $id created" >&2
while :; do
  code=$(curl -sS "${auth[@]}" -o "$body" -w '%{http_code}' "$base/v1/async/ocr/$id")
  [ "$code" != 202 ] && break
  python3 -c 'import json, sys; j = json.load(open(sys.argv[1])); print(j["status"], j.get("pages_done", ""), "/", j.get("pages_total", ""), file=sys.stderr)' "$body"
  sleep 0.5
done
cat "$body"
echo
