"""Scenarios: the validated parameter schema (:mod:`.schema`, its building blocks in :mod:`.base` and its
public-policy sections in :mod:`.policy_schema`) and the file reader (:mod:`.io`) with its line-precise error
messages (:mod:`.errors`), YAML and TOML parsing (:mod:`.parse`), overrides (:mod:`.paths`) and documented
templates (:mod:`.template`).

The model imports only :mod:`.schema`; reading files (ruamel.yaml, TOML) stays at the boundary.
"""
