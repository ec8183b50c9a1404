"""Outcome-based billing and contract engine for contact-center outsourcing."""

__version__ = "0.1.0"
