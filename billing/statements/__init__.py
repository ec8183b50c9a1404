"""Client statements: documents, credits, payments, KPIs and balance for one client, as
JSON, HTML (portal) and PDF.

Owns no table; reads documents, payments and reconciliations."""
