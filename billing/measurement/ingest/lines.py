"""An import file as bytes: whole lines in blocks, with bad lines set apart, in bounded memory.

``pieces`` reads the file in blocks of ``limit`` bytes (the longest row an import takes,
``billing.core.limits.MAX_ROW_BYTES``) and hands out, in file order:

- **text**: a ``str`` of whole lines (each with its ``\\n``, but the file's last line may lack
  it). A block that is valid UTF-8 and holds no NUL is decoded in one call: the path every
  clean file takes, with no work per line.
- **a bad line**: a ``BadLine`` holding a line's bytes and why it cannot be read: not UTF-8,
  holds a NUL (text no database column can store), or longer than ``limit``. Only a block
  that fails to decode as a whole is looked at line by line. An over-long line is never held:
  its first ``KEPT_PREFIX_BYTES`` are kept, and the rest is read past, up to the next newline.

Lines are split on ``\\n`` only (a ``\\r`` inside a line is the CSV reader's business). Memory
stays within a few times ``limit``, whatever the file holds.

``escape_bytes`` / ``unescape`` turn a kept row's bytes into storable text and back: ``\\``
doubled, each byte that is not UTF-8 and each NUL as ``\\xNN``; everything else as it was.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO

#: How much of an over-long line is kept (for the user to find and fix it in the file).
KEPT_PREFIX_BYTES = 4096
BOM = b"\xef\xbb\xbf"


@dataclass(frozen=True, slots=True)
class BadLine:
    """One line that cannot be read as text: ``data`` is its bytes with its line ending, or,
    when ``truncated``, only the first ``KEPT_PREFIX_BYTES`` of a line ``length`` bytes long."""

    data: bytes
    reason: str
    length: int
    truncated: bool = False


def pieces(handle: BinaryIO, limit: int, skip_first_line: bool = False) -> Iterator[str | BadLine]:
    """The lines after the handle's position as text blocks and bad lines (see the module's
    docstring). A leading byte order mark is dropped; with ``skip_first_line`` the first line
    (a header read elsewhere) is passed over and stands as an empty line ``"\\n"``."""
    data = handle.read(limit)
    if data.startswith(BOM):
        data = data[len(BOM) :]
    if skip_first_line and data:
        data = _past_first_line(handle, data, limit)
        yield "\n"
    carry = b""  # the start of a line whose end is not read yet (never longer than ``limit``)
    while data:
        cut = data.rfind(b"\n")
        if cut < 0:
            if len(carry) + len(data) > limit:
                bad, data = _over_long(handle, _head(carry, data, len(data)), len(carry) + len(data), limit)
                carry = b""
                yield bad
                continue
            carry += data
        else:
            first = data.find(b"\n")
            if len(carry) + first > limit:  # the line carried over ends here, too long
                yield _too_long(_head(carry, data, first), len(carry) + first, limit)
                block = data[first + 1 : cut + 1]
            else:
                block = carry + data[: cut + 1] if carry else data[: cut + 1]
            carry = data[cut + 1 :]
            if block:
                yield from _decoded(block)
        data = handle.read(limit)
    if carry:
        yield from _decoded(carry)


def _decoded(block: bytes) -> Iterator[str | BadLine]:
    """A block of whole lines as one text, or line by line where it holds bad lines."""
    try:
        text = block.decode("utf-8")
    except UnicodeDecodeError:
        pass
    else:
        if "\x00" not in text:
            yield text
            return
    for line in io.BytesIO(block):  # splits on b"\n" only
        try:
            text = line.decode("utf-8")
        except UnicodeDecodeError as exc:
            at = exc.start
            yield BadLine(line, f"is not UTF-8 text (byte 0x{line[at]:02x} at position {at + 1})", len(line))
            continue
        if "\x00" in text:
            yield BadLine(line, f"holds a NUL byte (position {text.index(chr(0)) + 1})", len(line))
        else:
            yield text


def _head(carry: bytes, data: bytes, end: int) -> bytes:
    """The kept start of an over-long line: ``carry`` then ``data[:end]``, cut short."""
    if len(carry) >= KEPT_PREFIX_BYTES:
        return carry[:KEPT_PREFIX_BYTES]
    return carry + data[: min(end, KEPT_PREFIX_BYTES - len(carry))]


def _too_long(head: bytes, length: int, limit: int) -> BadLine:
    if len(head) >= length:  # all of it kept: without its line ending
        head = head.removesuffix(b"\r")
    return BadLine(
        head[:KEPT_PREFIX_BYTES],
        f"is longer than {limit:,} bytes ({length:,}); only its first {KEPT_PREFIX_BYTES:,} bytes are kept",
        length,
        truncated=True,
    )


def _over_long(handle: BinaryIO, head: bytes, length: int, limit: int) -> tuple[BadLine, bytes]:
    """Read past the rest of a line already longer than ``limit``, holding none of it: the
    line as a bad line, and what the file holds after it."""
    while True:
        data = handle.read(limit)
        if not data:
            return _too_long(head, length, limit), b""
        end = data.find(b"\n")
        head = _head(head, data, len(data) if end < 0 else end)
        if end >= 0:
            return _too_long(head, length + end, limit), data[end + 1 :]
        length += len(data)


def _past_first_line(handle: BinaryIO, data: bytes, limit: int) -> bytes:
    """What follows the first line, the header (already read and checked to be short)."""
    while True:
        end = data.find(b"\n")
        if end >= 0:
            return data[end + 1 :]
        data = handle.read(limit)
        if not data:
            return b""


_UNSTORABLE = re.compile("[\x00]")
_ESCAPE = re.compile(rb"\\(\\|x[0-9a-f]{2})")


def storable(text: str) -> bool:
    """Whether text can be stored as it is (PostgreSQL's text holds no NUL)."""
    return "\x00" not in text


def escape_bytes(data: bytes) -> str:
    """Bytes as printable text that ``unescape`` turns back into the same bytes."""
    text = data.replace(b"\\", b"\\\\").decode("utf-8", "backslashreplace")
    return _UNSTORABLE.sub(lambda m: f"\\x{ord(m.group()):02x}", text)


def unescape(text: str) -> bytes:
    """The bytes ``escape_bytes`` made ``text`` from."""
    return _ESCAPE.sub(lambda m: b"\\" if m.group(1) == b"\\" else bytes([int(m.group(1)[1:], 16)]), text.encode())


def without_line_end(data: bytes) -> bytes:
    """A row's bytes without the one line ending it was read with."""
    if data.endswith(b"\n"):
        data = data[:-1]
    if data.endswith(b"\r"):
        data = data[:-1]
    return data
