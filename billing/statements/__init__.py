"""Client statements: documents, credits, payments, KPIs and balance for one client, as
JSON, HTML (portal) and PDF.

``views`` holds the values and the pure ``assemble``; ``store`` reads one client's rows;
``serialize`` gives the JSON forms; ``rendering`` and ``charts`` give HTML and PDF. Nothing
here recomputes an amount or a KPI: it renders what the documents hold. Owns no table.
"""
