"""Mistral's Batch API for `/v1/ocr`: many requests in, one JSONL of answers out.

A batch is a row (`batches`) and its requests, one per line of its input files (inline
requests are written to such a file first). Each request is read as an ordinary async job
tagged with the batch and its place in it, so it runs on any node, survives restarts and
shares the workers like any other job. Runners claim interactive jobs before batch jobs,
and a batch keeps at most `batch_slots` of its requests in flight: a person waiting on one
page is never queued behind a thousand.

Every node's `BatchDriver` steps the batches it can lease: it turns the next lines into jobs
while the batch has room, and once every request has ended (or the batch is cancelled or
runs out of time) writes the output and error files and the batch's final state. A line's
job carries an idempotency key made of the batch and line, so a step cut short by a crash
and taken again never reads a line twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any, get_args

from ocr_engine import TesseraError
from ocr_engine.errors import InvalidRequest
from ocr_engine.languages import resolve_model
from ocr_engine.sources import is_data_url

from . import documents
from .config import Settings
from .documents import Documents
from .errors import Cancelled, NotFound
from .fetch import FetchPolicy, check_url
from .files import FileNotFound, Files, iter_lines
from .jobs import Job, JobStatus, now
from .responses import BatchStatus
from .schema import MAX_CUSTOM_ID, file_document, parse_request
from .stores import JobStore
from .stores.base import SELECT_COLUMNS, job_from_row
from .stores.records import Sql
from .wire import error_body, failure

log = logging.getLogger(__name__)

ENDPOINT = "/v1/ocr"
STATUSES: tuple[str, ...] = get_args(BatchStatus)
FINAL = ("SUCCESS", "FAILED", "TIMEOUT_EXCEEDED", "CANCELLED")
_STEP_EVERY_S = 0.5
_LEASE_S = 30.0
_RESULT_PAGE = 50  # item jobs read at a time while the output files are written
_MATCH_SLICE = 500  # batches' metadata read at a time by a listing's `metadata` filter


class BatchNotFound(NotFound):
    code = "batch_not_found"


@dataclass
class BatchRecord:
    """One row of the batches table."""

    id: str
    owner: str
    status: str
    endpoint: str
    model: str | None
    metadata: str | None  # JSON
    input_files: str  # JSON list of file ids, inline requests' file included
    created_at: float
    started_at: float | None
    completed_at: float | None
    deadline: float
    total: int
    submitted: int  # requests turned into jobs so far
    cursor: str  # JSON [file index, byte offset] of the next request
    output_file: str | None
    error_file: str | None
    errors: str | None  # JSON list of {"message", "count"}
    cancel_requested: int
    succeeded: int | None  # counts kept once the batch ends (its jobs expire later)
    failed: int | None

    def wire(self, counts: dict[str, int]) -> dict[str, Any]:
        """The batch as Mistral's API shows it; `counts` are its jobs by status."""
        succeeded = self.succeeded if self.succeeded is not None else counts.get("completed", 0)
        failed = self.failed if self.failed is not None else counts.get("failed", 0)
        return {
            "id": self.id,
            "object": "batch",
            "input_files": json.loads(self.input_files),
            "metadata": json.loads(self.metadata) if self.metadata else None,
            "endpoint": self.endpoint,
            "model": self.model,
            "agent_id": None,
            "output_file": self.output_file,
            "error_file": self.error_file,
            "errors": json.loads(self.errors) if self.errors else [],
            "outputs": None,
            "status": self.status,
            "created_at": int(self.created_at),
            "total_requests": self.total,
            "completed_requests": succeeded + failed,
            "succeeded_requests": succeeded,
            "failed_requests": failed,
            "started_at": int(self.started_at) if self.started_at else None,
            "completed_at": int(self.completed_at) if self.completed_at else None,
        }


_COLUMNS = tuple(f.name for f in fields(BatchRecord))


def _record(row: dict[str, Any]) -> BatchRecord:
    return BatchRecord(**{name: row[name] for name in _COLUMNS})


class Batches:
    """The batches of every owner, in the job store's database."""

    def __init__(self, sql: Sql, files: Files, settings: Settings) -> None:
        self._sql = sql
        self._files = files
        self._settings = settings
        self._table = f"{sql.prefix}batches"
        self._jobs = f"{sql.prefix}jobs"

    async def create(
        self,
        owner: str,
        *,
        input_files: list[str],
        inline: Path | None,
        inline_count: int = 0,
        model: str | None,
        metadata: dict[str, Any] | None,
        timeout_hours: int,
    ) -> BatchRecord:
        """A new batch over the owner's input files, or over `inline_count` inline requests
        spooled to `inline` (kept as a file of the batch's)."""
        batch_id = str(uuid.uuid4())
        total = 0
        for file_id in input_files:
            record = await self._files.get(owner, file_id)
            if record.purpose != "batch" or record.num_lines is None:
                raise InvalidRequest(
                    f"The file '{file_id}' was not uploaded with the purpose 'batch'.",
                    param="input_files",
                )
            total += record.num_lines
        ids = list(input_files)
        if inline is not None:
            kept = await self._files.keep(
                owner,
                inline,
                filename=f"{batch_id}-requests.jsonl",
                purpose="batch",
                mimetype="application/jsonl",
                num_lines=inline_count,
                sample_type="batch_request",
                ttl=self._settings.file_ttl,
            )
            ids.append(kept.id)
            total += inline_count
        created = now()
        batch = BatchRecord(
            id=batch_id,
            owner=owner,
            status="QUEUED",
            endpoint=ENDPOINT,
            model=model,
            metadata=json.dumps(metadata) if metadata else None,
            input_files=json.dumps(ids),
            created_at=created,
            started_at=None,
            completed_at=None,
            deadline=created + timeout_hours * 3600,
            total=total,
            submitted=0,
            cursor=json.dumps([0, 0]),
            output_file=None,
            error_file=None,
            errors=None,
            cancel_requested=0,
            succeeded=None,
            failed=None,
        )
        await self._sql.execute(
            f"INSERT INTO {self._table} ({', '.join(_COLUMNS)})"
            f" VALUES ({', '.join('?' * len(_COLUMNS))})",
            *(getattr(batch, name) for name in _COLUMNS),
        )
        log.info("batch %s: created with %d request(s)", batch_id, total)
        return batch

    async def get(self, owner: str, batch_id: str) -> BatchRecord:
        rows = await self._sql.fetch(
            f"SELECT {', '.join(_COLUMNS)} FROM {self._table} WHERE id = ? AND owner = ?",
            batch_id,
            owner,
        )
        if not rows:
            raise BatchNotFound(f"No batch with id '{batch_id}' was found.", param="job_id")
        return _record(rows[0])

    async def listing(
        self,
        owner: str,
        *,
        statuses: list[str],
        model: str | None,
        created_after: float | None,
        metadata: dict[str, Any] | None,
        page: int,
        page_size: int,
        newest_first: bool,
    ) -> tuple[list[BatchRecord], int]:
        where = "owner = ?"
        args: list[Any] = [owner]
        if statuses:
            where += f" AND status IN ({', '.join('?' * len(statuses))})"
            args += statuses
        if model:
            where += " AND model = ?"
            args.append(model)
        if created_after is not None:
            where += " AND created_at > ?"
            args.append(created_after)
        order = f" ORDER BY created_at {'DESC' if newest_first else 'ASC'}, id"
        if metadata:
            ids = await self._matching(where, args, order, metadata)
            wanted = ids[page * page_size : (page + 1) * page_size]
            if not wanted:
                return [], len(ids)
            where += f" AND id IN ({', '.join('?' * len(wanted))})"
            rows = await self._sql.fetch(
                f"SELECT {', '.join(_COLUMNS)} FROM {self._table} WHERE {where}{order}",
                *args,
                *wanted,
            )
            return [_record(r) for r in rows], len(ids)
        total = await self._sql.fetch(
            f"SELECT count(*) AS n FROM {self._table} WHERE {where}", *args
        )
        rows = await self._sql.fetch(
            f"SELECT {', '.join(_COLUMNS)} FROM {self._table} WHERE {where}{order}"
            " LIMIT ? OFFSET ?",
            *args,
            page_size,
            page * page_size,
        )
        return [_record(r) for r in rows], int(total[0]["n"])

    async def _matching(
        self, where: str, args: list[Any], order: str, metadata: dict[str, Any]
    ) -> list[str]:
        """The ids of the batches whose metadata holds `metadata`, matched here a slice of
        rows at a time: only the page's rows are then read whole."""
        ids: list[str] = []
        offset = 0
        while rows := await self._sql.fetch(
            f"SELECT id, metadata FROM {self._table} WHERE {where}{order} LIMIT ? OFFSET ?",
            *args,
            _MATCH_SLICE,
            offset,
        ):
            ids += [r["id"] for r in rows if _has_metadata(r["metadata"], metadata)]
            offset += len(rows)
        return ids

    async def counts(self, batch_id: str) -> dict[str, int]:
        """The batch's jobs by status."""
        rows = await self._sql.fetch(
            f"SELECT status, count(*) AS n FROM {self._jobs} WHERE batch_id = ? GROUP BY status",
            batch_id,
        )
        return {r["status"]: int(r["n"]) for r in rows}

    async def request_cancel(self, owner: str, batch_id: str) -> BatchRecord:
        await self.get(owner, batch_id)
        await self._sql.execute(
            f"UPDATE {self._table} SET cancel_requested = 1, status = 'CANCELLATION_REQUESTED'"
            f" WHERE id = ? AND owner = ? AND status NOT IN ({', '.join('?' * len(FINAL))})",
            batch_id,
            owner,
            *FINAL,
        )
        log.info("batch %s: cancellation requested", batch_id)
        return await self.get(owner, batch_id)

    # -- the driver's side ----------------------------------------------------------------

    async def lease(self, node: str, limit: int) -> list[BatchRecord]:
        """Up to `limit` unfinished batches no other node is stepping, leased to `node`."""
        moment = now()
        free = "(lease_expires IS NULL OR lease_expires < ?)"
        rows = await self._sql.fetch(
            f"UPDATE {self._table} SET lease_owner = ?, lease_expires = ?"
            f" WHERE id IN (SELECT id FROM {self._table} WHERE status NOT IN"
            f" ({', '.join('?' * len(FINAL))}) AND {free} ORDER BY created_at LIMIT ?)"
            f" AND {free} RETURNING {', '.join(_COLUMNS)}",
            node,
            moment + _LEASE_S,
            *FINAL,
            moment,
            limit,
            moment,
        )
        return [_record(r) for r in rows]

    async def unlease(self, batch_id: str, node: str) -> None:
        await self._sql.execute(
            f"UPDATE {self._table} SET lease_expires = 0 WHERE id = ? AND lease_owner = ?",
            batch_id,
            node,
        )

    async def unlease_all(self) -> None:
        """One node alone uses this database: nothing is being stepped now."""
        await self._sql.execute(f"UPDATE {self._table} SET lease_expires = 0")

    async def advanced(self, batch: BatchRecord, submitted: int, cursor: list[int]) -> None:
        await self._sql.execute(
            f"UPDATE {self._table} SET submitted = ?, cursor = ?, status = CASE WHEN status ="
            " 'QUEUED' THEN 'RUNNING' ELSE status END, started_at = coalesce(started_at, ?)"
            " WHERE id = ?",
            submitted,
            json.dumps(cursor),
            now(),
            batch.id,
        )

    async def finished(
        self,
        batch: BatchRecord,
        status: str,
        *,
        output_file: str | None,
        error_file: str | None,
        succeeded: int,
        failed: int,
    ) -> None:
        await self._sql.execute(
            f"UPDATE {self._table} SET status = ?, output_file = ?, error_file = ?,"
            " succeeded = ?, failed = ?, completed_at = ?, lease_expires = 0 WHERE id = ?",
            status,
            output_file,
            error_file,
            succeeded,
            failed,
            now(),
            batch.id,
        )

    async def jobs(self, batch_id: str, statuses: tuple[str, ...], after: int) -> list[Job]:
        """Up to a page of the batch's jobs in these states, in order, past line `after`."""
        rows = await self._sql.fetch(
            f"SELECT {SELECT_COLUMNS} FROM {self._jobs} WHERE batch_id = ? AND batch_index > ?"
            f" AND status IN ({', '.join('?' * len(statuses))}) ORDER BY batch_index LIMIT ?",
            batch_id,
            after,
            *statuses,
            _RESULT_PAGE,
        )
        return [job_from_row(r) for r in rows]


def _has_metadata(stored: str | None, wanted: dict[str, Any]) -> bool:
    metadata = json.loads(stored) if stored else {}
    return all(metadata.get(k) == v for k, v in wanted.items())


class BatchDriver:
    """Steps this node's share of the unfinished batches, every half second."""

    def __init__(
        self,
        *,
        batches: Batches,
        files: Files,
        store: JobStore,
        documents: Documents,
        settings: Settings,
        policy: FetchPolicy,
        languages: Callable[[], list[str]],
        wake_runner: Callable[[], None],
        cancel_job: Callable[[str], None],
        single_node: bool,
    ) -> None:
        self._batches = batches
        self._files = files
        self._store = store
        self._documents = documents
        self._settings = settings
        self._policy = policy
        self._languages = languages
        self._wake_runner = wake_runner
        self._cancel_job = cancel_job
        self._single_node = single_node
        self._node = uuid.uuid4().hex[:12]
        self._task: asyncio.Task[None] | None = None
        self._wake = asyncio.Event()

    async def start(self) -> None:
        if self._single_node:
            await self._batches.unlease_all()
        self._task = asyncio.create_task(self._loop(), name="tessera-batches")

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    def wake(self) -> None:
        self._wake.set()

    async def _loop(self) -> None:
        while True:
            self._wake.clear()
            try:
                for batch in await self._batches.lease(self._node, limit=8):
                    await self._step_leased(batch)
            except TesseraError as e:  # the store's trouble is logged there; tried again
                log.debug("batch step: %s", e.message)
            except Exception:
                log.exception("batch step failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), _STEP_EVERY_S)

    async def _step_leased(self, batch: BatchRecord) -> None:
        """Step one leased batch. A batch whose step fails is tried again at the next round;
        it must not hold up the batches leased after it, whoever owns them."""
        try:
            await self.step(batch)
        except TesseraError as e:  # the store's trouble is logged there; tried again
            log.debug("batch %s: step: %s", batch.id, e.message)
        except Exception:
            log.exception("batch %s: step failed", batch.id)
        finally:
            await self._batches.unlease(batch.id, self._node)

    async def step(self, batch: BatchRecord) -> None:
        """Move one batch on: submit requests while it has room, end it when it is done."""
        counts = await self._batches.counts(batch.id)
        running = counts.get("pending", 0) + counts.get("processing", 0)
        if batch.cancel_requested or now() > batch.deadline:
            final = "CANCELLED" if batch.cancel_requested else "TIMEOUT_EXCEEDED"
            await self._stop_running(batch, final)
            await self._end(batch, final)
            return
        room = self._settings.batch_slots - running
        # Past the last input file every request is in, whatever the count said.
        read_out = json.loads(batch.cursor)[0] >= len(json.loads(batch.input_files))
        if batch.submitted < batch.total and not read_out and room > 0:
            await self._submit(batch, room)
            return
        if (batch.submitted >= batch.total or read_out) and running == 0:
            succeeded = counts.get("completed", 0)
            await self._end(batch, "SUCCESS" if succeeded or not batch.total else "FAILED")

    async def _submit(self, batch: BatchRecord, room: int) -> None:
        file_ids: list[str] = json.loads(batch.input_files)
        file_index, offset = json.loads(batch.cursor)
        submitted = batch.submitted
        while room > 0 and file_index < len(file_ids):
            wanted = room
            lines = await self._read_input(batch, file_ids[file_index], offset, wanted)
            if lines is None:  # the file is gone: its requests not yet submitted do not run
                file_index, offset = file_index + 1, 0
                await self._batches.advanced(batch, submitted, [file_index, offset])
                continue
            for line, after in lines:
                await self._submit_line(batch, submitted, line)
                submitted, room, offset = submitted + 1, room - 1, after
            if len(lines) < wanted:  # the file is read to its end
                file_index, offset = file_index + 1, 0
            await self._batches.advanced(batch, submitted, [file_index, offset])
        self._wake_runner()

    async def _read_input(
        self, batch: BatchRecord, file_id: str, offset: int, limit: int
    ) -> list[tuple[bytes, int]] | None:
        """Up to `limit` requests of an input file from `offset`; None once the file is gone
        (its owner deleted it, or it expired, while the batch ran)."""
        try:
            record = await self._files.find(file_id)
            if record is None:
                raise FileNotFound(f"The batch's input file {file_id} is gone.")
            path = await self._files.local_path(record)
            return await asyncio.to_thread(_read_lines, path, offset, limit)
        except (FileNotFound, FileNotFoundError):
            log.warning(
                "batch %s: its input file %s is gone; its requests not yet submitted do not run",
                batch.id,
                file_id,
            )
            return None

    async def _submit_line(self, batch: BatchRecord, index: int, line: bytes) -> None:
        """Turn one request of the batch into a job; a request that cannot be read becomes a
        job that failed, so it is counted and reported like any other."""
        job_id = str(uuid.uuid4())
        custom_id: str | None = None
        request: dict[str, Any] = {"model": batch.model, "languages": "", "body": {}}
        size = 0
        error: TesseraError | None = None
        try:
            value = json.loads(line)
            custom_id = value.get("custom_id")
            if custom_id is not None:
                custom_id = str(custom_id)
                if len(custom_id) > MAX_CUSTOM_ID:
                    custom_id = None
                    raise InvalidRequest(
                        f"A custom_id is at most {MAX_CUSTOM_ID} characters long.",
                        param="custom_id",
                    )
            body = dict(value["body"])
            body.setdefault("model", batch.model or "tesseract")
            parsed = parse_request(body)
            languages = resolve_model(
                parsed.model,
                default=self._settings.languages,
                aliases=self._settings.model_aliases,
                installed=self._languages(),
            )
            stored = parsed.stored()
            url = parsed.document.url
            if parsed.document.is_file:
                record = await self._files.get(batch.owner, parsed.document.file_id or "")
                stored["document"] = file_document(record.id, parsed.document.document_name)
                size = record.bytes
            elif is_data_url(url):
                data = await documents.decode(
                    url,
                    max_bytes=self._settings.max_document_bytes,
                    param=parsed.document.url_param,
                )
                size = len(data)
                await self._documents.save(job_id, data)
                stored["document"][parsed.document.type] = "data:stored"
            else:
                signed = await self._files.from_signed_url(url)
                if signed is not None:
                    stored["document"] = file_document(signed.id, parsed.document.document_name)
                    size = signed.bytes
                else:
                    check_url(url, self._policy, param=parsed.document.url_param)
            request = {"model": parsed.model, "languages": languages, "body": stored}
        except TesseraError as e:
            error = e
        except (ValueError, KeyError, TypeError, RecursionError):
            error = InvalidRequest(
                f"Request {index} of the batch is not an object with a 'body'.", param="body"
            )
        request["custom_id"] = custom_id
        job = Job(
            id=job_id,
            owner=batch.owner,
            status=JobStatus.PENDING,
            created_at=now(),
            ttl=self._settings.max_result_ttl,
            document_size=size,
            idempotency_key=f"batch:{batch.id}:{index}",
            request=request,
            batch_id=batch.id,
            batch_index=index,
        )
        _, created = await self._store.create(job)
        if not created:
            await self._documents.delete(job_id)  # this line was submitted before a crash
            return
        if error is not None:
            await self._store.finish(job_id, failure(error, model=request.get("model")))

    async def _stop_running(self, batch: BatchRecord, final: str) -> None:
        error = Cancelled(
            "The batch was cancelled by its owner."
            if final == "CANCELLED"
            else "The batch ran past its timeout."
        )
        while jobs := await self._batches.jobs(batch.id, ("pending", "processing"), -1):
            for job in jobs:
                if await self._store.finish(job.id, failure(error, model=job.request.get("model"))):
                    self._cancel_job(job.id)
                    await self._documents.delete(job.id)

    async def _end(self, batch: BatchRecord, status: str) -> None:
        """Write the output and error files, then the batch's final state."""
        output, errors, succeeded, failed = await self._write_results(batch)
        await self._batches.finished(
            batch,
            status,
            output_file=output,
            error_file=errors,
            succeeded=succeeded,
            failed=failed,
        )
        log.info(
            "batch %s: %s (%d succeeded, %d failed)", batch.id, status.lower(), succeeded, failed
        )

    async def _write_results(self, batch: BatchRecord) -> tuple[str | None, str | None, int, int]:
        temp = self._files.root / "tmp"
        paths = {name: temp / f"{uuid.uuid4().hex}.part" for name in ("output", "error")}
        counts = {"output": 0, "error": 0}
        try:
            with open(paths["output"], "wb") as out, open(paths["error"], "wb") as err:
                after = -1
                while jobs := await self._batches.jobs(batch.id, ("completed", "failed"), after):
                    for job in jobs:
                        after = job.batch_index if job.batch_index is not None else after
                        line, ok = _result_line(batch, job)
                        await asyncio.to_thread((out if ok else err).write, line)
                        counts["output" if ok else "error"] += 1
            kept: dict[str, str | None] = {"output": None, "error": None}
            for name, path in paths.items():
                if counts[name]:
                    record = await self._files.keep(
                        batch.owner,
                        path,
                        filename=f"{batch.id}-{name}.jsonl",
                        purpose="batch",
                        mimetype="application/jsonl",
                        num_lines=counts[name],
                        sample_type=f"batch_{'result' if name == 'output' else 'error'}",
                        ttl=self._settings.file_ttl,
                    )
                    kept[name] = record.id
            return kept["output"], kept["error"], counts["output"], counts["error"]
        finally:
            for path in paths.values():
                path.unlink(missing_ok=True)


def _read_lines(path: Path, offset: int, limit: int) -> list[tuple[bytes, int]]:
    """Up to `limit` non-empty lines from `offset`, each with the offset after it."""
    found: list[tuple[bytes, int]] = []
    with open(path, "rb") as f:
        f.seek(offset)
        for line in iter_lines(f):
            if line.strip():
                found.append((line, f.tell()))
                if len(found) == limit:
                    break
    return found


def _result_line(batch: BatchRecord, job: Job) -> tuple[bytes, bool]:
    """One line of the output file (a success) or of the error file."""
    head = {"id": f"{batch.id}-{job.batch_index}", "custom_id": job.request.get("custom_id")}
    if job.status is JobStatus.COMPLETED and job.result is not None:
        text = json.dumps({**head, "response": {"status_code": 200, "body": None}})
        # The stored result is JSON text already: spliced in, not parsed and written again.
        text = text.replace('"body": null', f'"body": {job.result}', 1)
        return (text + "\n").encode(), True
    body = json.loads(job.error) if job.error else error_body(Cancelled("The request did not run."))
    error = body.get("error", {})
    line = {
        **head,
        "response": {"status_code": job.status_code or 500, "body": body},
        "error": {"message": error.get("message"), "code": error.get("code")},
    }
    return (json.dumps(line) + "\n").encode(), False
