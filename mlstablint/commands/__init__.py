"""The commands: the only layer that knows several engines.

`check` (code + data + placing data findings on the loading line + confirmation), `audit` (data only,
on the local or the Spark engine), `sweep` (the stability lab), and `api` (`mlstablint.audit` from
Python). `cli.py` parses flags and renders; the engines (`code/`, `data/`, `spark/`, `sweep/`) never
import this layer. Errors in how a command was called raise `mlstablint.config.ConfigError`.
"""
