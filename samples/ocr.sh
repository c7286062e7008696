#!/usr/bin/env bash
# Send a PDF or image to POST /v1/ocr and print each page's Markdown.
#   samples/ocr.sh samples/invoice.png [http://127.0.0.1:8080]
# Set TESSERA_KEY to send a bearer key; add fields with EXTRA='"pages":"0",'.
set -euo pipefail
file=${1:?usage: samples/ocr.sh FILE [BASE_URL]}
base=${2:-http://127.0.0.1:8080}
auth=()
[ -n "${TESSERA_KEY:-}" ] && auth=(-H "Authorization: Bearer $TESSERA_KEY")
body=$(mktemp)
trap 'rm -f "$body"' EXIT
printf '{%s"model":"tesseract","document":{"type":"document_url","document_url":"data:application/octet-stream;base64,%s"}}' \
  "${EXTRA:-}" "$(base64 -w0 "$file")" > "$body"
curl -sS --fail-with-body "${auth[@]}" -H 'Content-Type: application/json' \
  --data-binary @"$body" "$base/v1/ocr" |
  python3 -c 'import json, sys; print("\n".join(p["markdown"] for p in json.load(sys.stdin)["pages"]))'
