"""Contracts: the contract language (YAML to validated terms), the terms themselves, and the
contract store (clients, contracts and their versions).

Owns ``client``, ``contract`` and ``contract_version``. Invariants: a stored version
validates; what was loaded (the verbatim source) is what is rated; a version that governs an
issued period never changes."""
