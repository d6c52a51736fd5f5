"""Read a (possibly gzipped) JSON-lines file in constant memory, resumable at a byte offset."""

from __future__ import annotations

import gzip
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

MAX_LINE_BYTES = 4 * 1024 * 1024  # a longer line is reported and skipped, never read whole


@dataclass
class Line:
    number: int
    record: dict | None
    error: str | None
    offset: int  # byte offset just after this line (in the uncompressed stream)
    position: int  # bytes of the file on disk read so far, for progress


def file_identity(path: Path) -> dict:
    st = path.stat()
    # nanoseconds: a file rewritten within the same second to the same size must not resume mid-way
    return {"path": str(path.resolve()), "size": st.st_size, "mtime": st.st_mtime_ns}


def read_json_lines(path: Path, start_offset: int = 0, start_line: int = 0) -> Iterator[Line]:
    raw = open(path, "rb")
    stream = gzip.GzipFile(fileobj=raw) if path.suffix == ".gz" else raw
    try:
        if start_offset:
            stream.seek(start_offset)
        offset, number = start_offset, start_line
        while True:
            chunk = stream.readline(MAX_LINE_BYTES + 1)
            if not chunk:
                return
            number += 1
            if len(chunk) > MAX_LINE_BYTES and not chunk.endswith(b"\n"):
                # drain the rest of the over-long line without holding it
                while chunk and not chunk.endswith(b"\n"):
                    offset += len(chunk)
                    chunk = stream.readline(MAX_LINE_BYTES)
                offset += len(chunk)
                yield Line(number, None, f"line longer than {MAX_LINE_BYTES // 1024 // 1024} MiB", offset, raw.tell())
                continue
            offset += len(chunk)
            if not chunk.strip():
                continue
            try:
                text = chunk.decode("utf-8")
            except UnicodeDecodeError as e:
                yield Line(number, None, f"invalid UTF-8 at byte {e.start}", offset, raw.tell())
                continue
            try:
                record = json.loads(text)
            except json.JSONDecodeError as e:
                yield Line(number, None, f"malformed JSON: {e.msg} at column {e.colno}", offset, raw.tell())
                continue
            except (ValueError, RecursionError) as e:  # a 5,000-digit number, nesting too deep
                yield Line(number, None, f"malformed JSON: {str(e)[:120]}", offset, raw.tell())
                continue
            if not isinstance(record, dict):
                yield Line(number, None, f"expected a JSON object, got {type(record).__name__}", offset, raw.tell())
                continue
            yield Line(number, record, None, offset, raw.tell())
    finally:
        raw.close()


class JsonLinesFileSource:
    """Base for file sources: resume state, progress and error items; subclasses map records."""

    unit = "B"
    kind = "jsonl"

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)
        if not self.path.exists():
            raise FileNotFoundError(f"{self.path}: no such file")
        self.key = f"{self.kind}:{self.path.resolve()}"
        self.label = self.path.name
        self.warnings: list[str] = []

    def total(self) -> int | None:
        return self.path.stat().st_size

    def to_paper(self, record: dict):  # -> Paper, raises RecordError
        raise NotImplementedError

    def items(self, state: dict):
        from ..models import RecordError
        from .base import Item

        ident = file_identity(self.path)
        resume = state.get("resume") if state.get("file") == ident else None
        offset, line_no = (resume["offset"], resume["line"]) if resume else (0, 0)
        for line in read_json_lines(self.path, offset, line_no):
            where = f"line {line.number}"
            new_state = {"file": ident, "resume": {"offset": line.offset, "line": line.number, "where": where}}
            if line.error:
                yield Item(where, error=line.error, state=new_state, position=line.position)
                continue
            try:
                paper = self.to_paper(line.record)
            except RecordError as e:
                yield Item(where, error=str(e), state=new_state, position=line.position)
                continue
            except (TypeError, AttributeError, KeyError, IndexError, ValueError) as e:  # wrong types
                yield Item(
                    where,
                    error=f"invalid record: {type(e).__name__}: {str(e)[:120]}",
                    state=new_state,
                    position=line.position,
                )
                continue
            yield Item(where, paper=paper, state=new_state, position=line.position)

    def can_resume(self, state: dict) -> bool:
        return bool(state.get("resume")) and state.get("file") == file_identity(self.path)

    def final_state(self, state: dict) -> dict:
        return {"file": file_identity(self.path), "resume": None, "complete": True}
