"""Collection through Stripe: the outbox (``outbox``), the only module that imports stripe
(``gateway``), strict webhook signatures (``signature``) and verified webhooks (``webhooks``).

Owns ``stripe_outbox`` and ``stripe_event``."""
