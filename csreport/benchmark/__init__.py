"""Benchmarking (SPEC §4): targets with RAG status, and the history of earlier runs."""
