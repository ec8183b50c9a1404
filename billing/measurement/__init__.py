"""Measurement: outcomes in (``ingest``), KPIs out.

Owns ``import_batch``, ``interaction``, ``workforce_entry``, ``rejected_row``, ``client_kpi``,
``pseudonym_key`` and the daily rollup (``outcome_basis``, ``outcome_day``). Customer ids are
pseudonymised at import (``pseudonyms``); ``trace`` lists the contacts behind a measured figure;
``purged`` refuses measurements that would need rows retention deleted. ``kpis`` holds the pure KPI
formulas; ``queries`` measures them in SQL; ``rollup`` keeps the daily sums in step with the
interactions in the same transaction as every write."""
