"""Personal data (docs/privacy.md): a data subject's erasure (``erasure``) and the retention of
interaction rows (``retention``). Customer ids are pseudonymised at import
(``billing.measurement.pseudonyms``); here they are unlinked, and old periods' rows deleted
once nothing can need them. Owns ``erasure_request`` and ``retention_purge``."""
