"""Rejected interaction rows without the customer's id (docs/privacy.md).

A rejected row is kept for a fix and a retry, but the customer id it holds is personal data
the database never stores as received:

- a row whose values could be read keeps its text with the customer id replaced by its
  pseudonym (``billing.measurement.pseudonyms``): the CSV record written again with the same
  fields, or the JSON object with the same members. Exported for a fix, the pseudonym is
  imported as it is, so the fixed row links to the customer's other contacts as before;
- a row that could not be read into values (not UTF-8, a NUL, the wrong number of fields, not
  a JSON object, ...) gives no way to tell which of its bytes are the customer id: it is kept
  **sealed**, encrypted with AES-256-GCM under a key derived from the pseudonym key
  (``raw_format`` ``sealed``, or ``sealed-pfx`` for the kept start of an over-long row). An
  export unseals it, with the key, into the file the user fixes; the database alone never
  shows it.
"""

from __future__ import annotations

import base64
import csv
import io
import json
import os
from typing import Any

from billing.measurement.ingest.files import ESCAPED, PREFIX, RowSource
from billing.measurement.ingest.lines import unescape
from billing.measurement.ingest.records import NotAValue, text_of
from billing.measurement.pseudonyms import Pseudonymizer

SEALED = "sealed"
SEALED_PREFIX = "sealed-pfx"
_INNER = {None: b"T", ESCAPED: b"E", PREFIX: b"P"}
_OUTER = {value: key for key, value in _INNER.items()}


def kept_raw(
    rows: RowSource, values: tuple[str, ...], raw: Any, pseudonymizer: Pseudonymizer, customer_at: int, contract_at: int
) -> tuple[str, str | None]:
    """A rejected interaction row as stored text and its ``raw_format``: pseudonymised where
    its values were read, else sealed."""
    if values:
        customer = values[customer_at]
        text = raw
        if customer and isinstance(raw, str):
            pseudonym = pseudonymizer.of(values[contract_at], customer)
            text = with_pseudonym(rows.format, rows.header, raw, customer, pseudonym)
        if isinstance(text, str):
            stored, raw_format = rows.raw_text(text)
            if raw_format is None:
                return stored, None
    stored, raw_format = rows.raw_text(raw)
    return seal(pseudonymizer, stored, raw_format), SEALED_PREFIX if raw_format == PREFIX else SEALED


def private_stored(
    raw: str, raw_format: str | None, header: str | None, pseudonymizer: Pseudonymizer
) -> tuple[str, str | None]:
    """A rejected row stored before customer ids were pseudonymised, as it is kept now
    (migration 0013): its customer id pseudonymised where its fields can be read, else sealed."""
    if is_sealed(raw_format):
        return raw, raw_format
    if raw_format is None:
        fields = _fields("csv" if header is not None else "jsonl", header, raw)
        if fields is not None:
            customer, contract = fields.get("customer_id", ""), fields.get("contract", "")
            if not customer:
                return raw, None
            text = with_pseudonym(
                "csv" if header is not None else "jsonl", header, raw, customer, pseudonymizer.of(contract, customer)
            )
            if text is not None:
                return text, None
    return seal(pseudonymizer, raw, raw_format), SEALED_PREFIX if raw_format == PREFIX else SEALED


def _fields(file_format: str, header: str | None, text: str) -> dict[str, str] | None:
    try:
        if file_format == "jsonl":
            record = json.loads(text)
            if not isinstance(record, dict):
                return None
            return {name: text_of(value) for name, value in record.items() if not isinstance(value, dict | list)}
        fields = next(csv.reader(io.StringIO(text, newline="")), None)
    except (ValueError, RecursionError, csv.Error, NotAValue):
        return None
    names = [n.strip() for n in next(csv.reader([header or ""]), [])]
    if fields is None or len(fields) != len(names):
        return None
    return dict(zip(names, fields, strict=True))


def with_pseudonym(file_format: str, header: str | None, raw: str, customer: str, pseudonym: str) -> str | None:
    """The row's text with its customer id replaced (None when it cannot be written back)."""
    ending = raw[len(raw.rstrip("\r\n")) :]
    body = raw[: len(raw) - len(ending)]
    try:
        if file_format == "jsonl":
            record = json.loads(body)
            if not isinstance(record, dict) or text_of(record.get("customer_id")) != customer:
                return None
            record["customer_id"] = pseudonym
            try:  # other members as they were: escaped when the line was ASCII
                return json.dumps(record, ensure_ascii=body.isascii()).encode("utf-8").decode("utf-8") + ending
            except UnicodeEncodeError:  # a lone surrogate from an escape: escaped again
                return json.dumps(record) + ending
        fields = next(csv.reader(io.StringIO(body, newline="")), None)
    except (ValueError, RecursionError, csv.Error, NotAValue):
        return None
    names = [n.strip() for n in next(csv.reader([header or ""]), [])]
    if fields is None or len(fields) != len(names) or "customer_id" not in names:
        return None
    at = names.index("customer_id")
    if fields[at] != customer:
        return None
    fields[at] = pseudonym
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerow(fields)  # quotes a field holding CR or LF
    return buffer.getvalue().removesuffix("\r\n") + ending


def seal(pseudonymizer: Pseudonymizer, text: str, raw_format: str | None) -> str:
    """Stored text and its format, encrypted: base64 of nonce + ciphertext + tag."""
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    nonce = os.urandom(12)
    plain = _INNER[raw_format] + text.encode("utf-8")
    sealed = AESGCM(pseudonymizer.sealing_key()).encrypt(nonce, plain, b"rejected_row")
    return base64.b64encode(nonce + sealed).decode("ascii")


def unseal(pseudonymizer: Pseudonymizer, stored: str) -> tuple[str, str | None]:
    """The stored text and format a sealed row was made from (``ValueError`` under another key)."""
    from cryptography.exceptions import InvalidTag
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    data = base64.b64decode(stored)
    try:
        plain = AESGCM(pseudonymizer.sealing_key()).decrypt(data[:12], data[12:], b"rejected_row")
    except InvalidTag:
        raise ValueError("a sealed rejected row does not open with this pseudonym key") from None
    return plain[1:].decode("utf-8"), _OUTER[plain[:1]]


def is_sealed(raw_format: str | None) -> bool:
    return raw_format in (SEALED, SEALED_PREFIX)


def stored_bytes(raw: str, raw_format: str | None) -> bytes:
    """The bytes of an unsealed stored row (``raw_format`` None, escaped or prefix)."""
    return unescape(raw) if raw_format in (ESCAPED, PREFIX) else raw.encode("utf-8")
