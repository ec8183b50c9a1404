"""The client's data, portable (``billing export``): every contract version as its original
YAML, documents with their lines and payments, the monthly KPIs and service-level results the
invoices hold, interactions and workforce hours (one file per import batch, in the importers'
own columns, so a fresh database can import them back in the same order and re-rate every
invoice on the data it was issued on), and the audit trail; ``manifest.json`` lists each file
with its row count and SHA-256. CSV, JSON Lines or Parquet (pyarrow), streamed: memory stays
bounded whatever the client's volume. Owns no table."""
