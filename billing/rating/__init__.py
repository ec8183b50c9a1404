"""Rating: terms and measured outcomes in, explainable invoice lines out.

``pricing`` (one module per pricing model), ``credits`` (service levels, caps, earnback) and
``engine`` are pure; ``service`` is the edge that reads terms and measurements from the
database. Owns no table."""
