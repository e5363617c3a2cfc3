"""The experiment engine: designs, experiment files, a crash-safe run store, executors."""

__all__ = []
