"""Utilities every layer may use: array helpers, the atomic-write protocol, provenance, progress reports.

Nothing here imports another part of clustersim.
"""
