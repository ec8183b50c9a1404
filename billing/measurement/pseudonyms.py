"""Customer identifiers, pseudonymised (docs/privacy.md).

A customer id is personal data the engine needs only to link one customer's contacts on one
contract (the repeat-contact rule). So the importer stores, instead of the id it was sent, a
keyed hash of it: ``HMAC-SHA-256(key, contract code NUL customer id)``, written as
``k<key id>:<32 hex digits>`` (the HMAC truncated to 128 bits, as RFC 2104 allows: a
collision needs some 2^64 customers). The same customer on the same contract always gets the same
pseudonym, so the repeat-contact rule links exactly the contacts it linked before; without
the key nobody can tell whose contacts they are, nor link one customer across contracts.

**The key** is the deployment's: ``BILLING_PSEUDONYM_KEY`` (text, at least 32 characters), else
the key file named by ``BILLING_PSEUDONYM_KEY_FILE``, else, for a SQLite database, the file
``<database file>.pseudonym.key`` beside it, which ``billing init`` creates with 32 random bytes
and owner-only permissions (0600). The key is never printed or logged. Its **key id** (8 hex
digits of a one-way digest of the key) is part of every pseudonym and is recorded in the
database (``pseudonym_key``), so a key that is not the one the stored values were made with is
refused instead of silently starting new, unlinked pseudonyms.

**A value that is already a pseudonym** of the current key (``k<key id>:<hex>``) is kept as it
is: a rejected row, stored with its customer id pseudonymised, can be exported, fixed and
imported again, and data exported from this engine can be imported into it again.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
import secrets
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from billing.core.problems import Conflict

if TYPE_CHECKING:
    from sqlmodel import Session

KEY_ENV = "BILLING_PSEUDONYM_KEY"
KEY_FILE_ENV = "BILLING_PSEUDONYM_KEY_FILE"
KEY_FILE_SUFFIX = ".pseudonym.key"
MIN_KEY_LENGTH = 32
#: ``k`` + key id + ``:`` + HMAC-SHA-256 truncated to 128 bits, in hex: 42 characters (short
#: keeps the customer index and the bulk path lean).
PSEUDONYM = re.compile(r"k([0-9a-f]{8}):[0-9a-f]{32}")
DIGITS = 32
#: Pseudonyms kept per import reader (a file holds each customer many times).
CACHE_ENTRIES = 65_536


class KeyMissing(Conflict):
    """No pseudonym key is configured (the message says how to configure one)."""


class KeyProblem(Conflict):
    """The configured key cannot be used (too short, readable by others, not the key the
    stored pseudonyms were made with)."""


def key_id_of(key: bytes) -> str:
    """The key's public name: 8 hex digits of a digest that cannot give the key back."""
    return hashlib.sha256(b"billing pseudonym key id\x00" + key).hexdigest()[:8]


@dataclass(frozen=True)
class Pseudonymizer:
    """One key, ready to pseudonymise many values (``of``), e.g. in an import's reader."""

    key: bytes

    @property
    def key_id(self) -> str:
        return key_id_of(self.key)

    def of(self, contract: str, customer: str) -> str:
        """The pseudonym of ``customer`` on ``contract`` (a pseudonym of this key unchanged)."""
        if self.is_own(customer):
            return customer
        digest = hmac.new(self.key, contract.encode() + b"\x00" + customer.encode("utf-8", "surrogatepass"), "sha256")
        return f"k{self.key_id}:{digest.hexdigest()[:DIGITS]}"

    def is_own(self, value: str) -> bool:
        match = PSEUDONYM.fullmatch(value)
        return match is not None and match.group(1) == self.key_id

    def cached(self) -> CachedPseudonyms:
        return CachedPseudonyms(self)

    def sealing_key(self) -> bytes:
        """A key for sealing (encrypting) rejected rows, derived from this one."""
        return hmac.new(self.key, b"billing rejected-row sealing v1", "sha256").digest()


class CachedPseudonyms:
    """``Pseudonymizer.of`` with one HMAC object for the key (each value hashes a copy of it)
    and the pseudonyms of recent customers remembered: an import file names each customer
    many times. The cache is emptied when full, so memory stays bounded."""

    def __init__(self, pseudonymizer: Pseudonymizer):
        self.pseudonymizer = pseudonymizer
        self._base = hmac.new(pseudonymizer.key, digestmod="sha256")
        self._prefix = f"k{pseudonymizer.key_id}:"
        self._known: dict[tuple[str, str], str] = {}

    def __call__(self, contract: str, customer: str) -> str:
        key = (contract, customer)
        found = self._known.get(key)
        if found is not None:
            return found
        if customer.startswith(self._prefix) and self.pseudonymizer.is_own(customer):
            value = customer
        else:
            digest = self._base.copy()
            digest.update(contract.encode() + b"\x00" + customer.encode("utf-8", "surrogatepass"))
            value = self._prefix + digest.hexdigest()[:DIGITS]
        if len(self._known) >= CACHE_ENTRIES:
            self._known.clear()
        self._known[key] = value
        return value


def key_file_for(database_url: str) -> Path | None:
    """Where the key file is: ``BILLING_PSEUDONYM_KEY_FILE``, else beside a SQLite database,
    else (a database server) in the user's configuration folder, named after the server and
    database: never inside the database, so a dump alone cannot undo the pseudonyms."""
    named = os.environ.get(KEY_FILE_ENV, "").strip()
    if named:
        return Path(named)
    from billing.storage.readiness import sqlite_file

    path = sqlite_file(database_url)
    if path is not None:
        return Path(f"{path}{KEY_FILE_SUFFIX}")
    parts = urlsplit(database_url)
    if not parts.hostname and not parts.path.strip("/"):
        return None
    name = f"{parts.hostname or 'local'}-{parts.port or 'default'}-{parts.path.strip('/') or 'default'}"
    folder = Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config") / "bpo-billing"
    return folder / (re.sub(r"[^A-Za-z0-9._-]", "_", name) + KEY_FILE_SUFFIX)


def load_key(database_url: str) -> Pseudonymizer:
    """The deployment's key (see the module's docstring); ``KeyMissing`` when there is none."""
    text = os.environ.get(KEY_ENV)
    if text is not None and text.strip():
        key = text.strip().encode()
        if len(key) < MIN_KEY_LENGTH:
            raise KeyProblem(f"{KEY_ENV} must hold at least {MIN_KEY_LENGTH} characters")
        return Pseudonymizer(key)
    path = key_file_for(database_url)
    if path is None:
        raise KeyMissing(
            f"no pseudonym key for customer ids: set {KEY_ENV}, or {KEY_FILE_ENV} to a key file "
            "`billing init` creates (docs/privacy.md)"
        )
    if not path.exists():
        raise KeyMissing(f"no pseudonym key file at {path}: run `billing init` to create it (docs/privacy.md)")
    return Pseudonymizer(_read_key_file(path))


def _read_key_file(path: Path) -> bytes:
    mode = path.stat().st_mode
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise KeyProblem(f"the pseudonym key file {path} is readable by others: chmod 600 {path}")
    key = bytes.fromhex(path.read_text().strip()) if _is_hex(path) else path.read_bytes().strip()
    if len(key) < MIN_KEY_LENGTH:
        raise KeyProblem(f"the pseudonym key file {path} holds fewer than {MIN_KEY_LENGTH} bytes")
    return key


def _is_hex(path: Path) -> bool:
    try:
        text = path.read_text().strip()
    except UnicodeDecodeError:
        return False
    return bool(re.fullmatch(r"[0-9a-fA-F]+", text)) and len(text) % 2 == 0


def ensure_key_file(database_url: str) -> Path | None:
    """Create the key file when no key is configured and the file is missing (``billing
    init``): 32 random bytes in hex, created owner-only (0600) before anything is written to
    it. Returns the path created, or None when a key was there already (or comes from
    ``BILLING_PSEUDONYM_KEY``)."""
    if os.environ.get(KEY_ENV, "").strip():
        return None
    path = key_file_for(database_url)
    if path is None or path.exists():
        return None
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w") as handle:
        handle.write(secrets.token_hex(32) + "\n")
    return path


def pseudonymizer_for(session: Session) -> Pseudonymizer:
    """The key for the session's database, checked against the keys its stored pseudonyms
    were made with (and recorded there when it is the first)."""
    bind = session.get_bind()
    engine = bind if hasattr(bind, "url") else bind.engine
    pseudonymizer = load_key(engine.url.render_as_string(hide_password=False))
    register_key(session, pseudonymizer.key_id)
    return pseudonymizer


def register_key(session: Session, key_id: str) -> None:
    """Refuse a key other than the one the database's pseudonyms were made with; record the
    first one (caller's transaction)."""
    from sqlalchemy import select

    from billing.storage.models import PseudonymKey, utcnow

    known = list(session.execute(select(PseudonymKey.key_id)).scalars())  # type: ignore[call-overload]
    if known and key_id not in known:
        raise KeyProblem(
            f"the configured pseudonym key (id k{key_id}) is not the key this database's customer ids "
            f"were pseudonymised with (k{', k'.join(sorted(known))}): imports under it would not link "
            "a customer's contacts; configure that key (docs/privacy.md)"
        )
    if not known:  # two first imports at once both record it: the second does nothing
        if session.get_bind().dialect.name == "sqlite":
            from sqlalchemy.dialects.sqlite import insert
        else:
            from sqlalchemy.dialects.postgresql import insert  # type: ignore[assignment]
        table = PseudonymKey.__table__  # type: ignore[attr-defined]
        session.execute(insert(table).values(key_id=key_id, first_used_at=utcnow()).on_conflict_do_nothing())
