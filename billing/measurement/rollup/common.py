"""Constants every part of the rollup shares."""

from billing.storage.types import Exact

DAY_SECONDS = 86400
#: Any constant identifies the interaction writers' advisory lock on PostgreSQL (imports,
#: rollup rebuilds); SQLite writers serialize on ``BEGIN IMMEDIATE``.
WRITER_LOCK = 0x1A7E_C0DE
QA = Exact(scale=2, precision=18)
