"""Access: API tokens (finance or client-scoped) and the browser sessions opened with them
(``sessions``), both stored as hashes only.

Owns ``api_token`` and ``portal_session``. Used by the HTTP edge and the ``billing tokens`` commands."""
