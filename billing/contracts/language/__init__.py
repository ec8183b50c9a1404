"""The contract language: YAML text -> validated, frozen ``ContractTerms``.

The pipeline is ``read_document`` (YAML with line numbers, numbers kept exact) then
``parse_terms`` (document -> terms, collecting every problem with file, line and field).
Nothing is stored here; the contract store decides what to do with the result.

Modules by section: ``yaml_source`` (document structure), ``reader`` (field readers that
collect problems), ``document`` (top-level fields and assembly), ``amendments``
(``effective_from``), ``charges`` and ``service_levels``.
"""

from billing.contracts.language.document import load_terms_text, parse_terms
from billing.contracts.language.yaml_source import read_document, to_plain

__all__ = ["load_terms_text", "parse_terms", "read_document", "to_plain"]
