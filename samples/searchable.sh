#!/usr/bin/env bash
# Read a scan with an async job that also writes a searchable PDF, and download it.
#   samples/searchable.sh samples/scan.pdf [OUT.pdf] [http://127.0.0.1:8080]
# Set TESSERA_KEY to send a bearer key.
set -euo pipefail
file=${1:?usage: samples/searchable.sh FILE [OUT.pdf] [BASE_URL]}
out=${2:-${file%.*}.searchable.pdf}
base=${3:-http://127.0.0.1:8080}
auth=()
[ -n "${TESSERA_KEY:-}" ] && auth=(-H "Authorization: Bearer $TESSERA_KEY")
body=$(mktemp)
trap 'rm -f "$body"' EXIT
printf '{"model":"tesseract","output_formats":["pdf"],"document":{"type":"document_url","document_url":"data:application/octet-stream;base64,%s"}}' \
  "$(base64 -w0 "$file")" > "$body"
job=$(curl -sS --fail-with-body "${auth[@]}" -H 'Content-Type: application/json' \
  --data-binary @"$body" "$base/v1/async/ocr")
id=$(python3 -c 'import json, sys; print(json.loads(sys.argv[1])["id"])' "$job")
echo "job $id created" >&2
curl -sS --fail-with-body "${auth[@]}" -o "$body" "$base/v1/async/ocr/$id?wait=60"
url=$(python3 -c '
import json, sys
job = json.load(open(sys.argv[1]))
if job["status"] != "completed":
    sys.exit("job " + job["status"] + ": " + json.dumps(job.get("error")))
print(next(o["url"] for o in job["outputs"] if o["format"] == "pdf"))' "$body")
curl -sS --fail-with-body "${auth[@]}" -o "$out" "$base$url"
echo "$out"
