"""Files and batches through the `mistralai` SDK: upload a scan, read it by id and by signed
URL, then read it twice more as a batch and print the batch's answers.

    .venv/bin/python samples/files_and_batch.py samples/scan.pdf [http://127.0.0.1:8080]
"""

import json
import os
import sys
import time

from mistralai.client import Mistral

path = sys.argv[1] if len(sys.argv) > 1 else "samples/scan.pdf"
server = sys.argv[2] if len(sys.argv) > 2 else "http://127.0.0.1:8080"
client = Mistral(api_key=os.environ.get("TESSERA_KEY", "unused"), server_url=server)

with open(path, "rb") as f:
    uploaded = client.files.upload(
        file={"file_name": os.path.basename(path), "content": f}, purpose="ocr"
    )
print(f"uploaded {uploaded.filename}: {uploaded.id} ({uploaded.size_bytes} bytes)")

by_id = client.ocr.process(
    model="mistral-ocr-latest", document={"type": "file", "file_id": uploaded.id}
)
print(f"by file id: {len(by_id.pages)} page(s); first line: {by_id.pages[0].markdown.splitlines()[0]}")

signed = client.files.get_signed_url(file_id=uploaded.id, expiry=1)
by_url = client.ocr.process(
    model="mistral-ocr-latest", document={"type": "document_url", "document_url": signed.url}
)
print(f"by signed URL: {len(by_url.pages)} page(s)")

batch = client.batch.jobs.create(
    endpoint="/v1/ocr",
    model="mistral-ocr-latest",
    requests=[
        {"custom_id": "whole", "body": {"document": {"type": "file", "file_id": uploaded.id}}},
        {"custom_id": "first", "body": {"document": {"type": "file", "file_id": uploaded.id},
                                        "pages": [0]}},
    ],
)
while (batch := client.batch.jobs.get(job_id=batch.id)).status in ("QUEUED", "RUNNING"):
    print(f"batch {batch.id}: {batch.status}, {batch.completed_requests}/{batch.total_requests}")
    time.sleep(1)
print(f"batch {batch.id}: {batch.status}")
if batch.output_file:
    for line in client.files.download(file_id=batch.output_file).read().splitlines():
        answer = json.loads(line)
        pages = answer["response"]["body"]["pages"]
        print(f"  {answer['custom_id']}: {answer['response']['status_code']}, {len(pages)} page(s)")
client.files.delete(file_id=uploaded.id)
