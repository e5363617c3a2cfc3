"""Scenarios: the validated parameter schema (:mod:`.schema`, its building blocks in :mod:`.base` and its
public-policy sections in :mod:`.policy_schema`) and the file reader with its line-precise error messages,
overrides and documented templates (:mod:`.io`).

The model imports only :mod:`.schema`; reading files (ruamel.yaml, TOML) stays at the boundary.
"""
