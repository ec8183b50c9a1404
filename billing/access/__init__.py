"""Access: API tokens (finance or client-scoped), stored as hashes only.

Owns ``api_token``. Used by the HTTP edge and the ``billing tokens`` commands."""
