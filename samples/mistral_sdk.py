"""Tessera through the `mistralai` SDK, unchanged: only the server URL differs.

    .venv/bin/python samples/mistral_sdk.py samples/letter.pdf [http://127.0.0.1:8080]
"""

import base64
import os
import sys

from mistralai.client import Mistral

path = sys.argv[1] if len(sys.argv) > 1 else "samples/letter.pdf"
server = sys.argv[2] if len(sys.argv) > 2 else "http://127.0.0.1:8080"
with open(path, "rb") as f:
    document = "data:application/pdf;base64," + base64.b64encode(f.read()).decode()

client = Mistral(api_key=os.environ.get("TESSERA_KEY", "unused"), server_url=server)
response = client.ocr.process(
    model="mistral-ocr-latest",  # an alias of the default languages; or "tesseract-eng"
    document={"type": "document_url", "document_url": document},
    confidence_scores_granularity="page",
)
for page in response.pages:
    score = page.confidence_scores.average_page_confidence_score if page.confidence_scores else None
    print(f"--- page {page.index} ({page.dimensions.width}x{page.dimensions.height}, "
          f"confidence {score})")
    print(page.markdown)
