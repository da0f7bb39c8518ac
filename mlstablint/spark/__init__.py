"""The Spark engine of the data auditor: the same partial statistics, computed per partition.

Layout: `session` (find or start a SparkSession; pyspark and Java checks), `codec` (partials to
Arrow IPC bytes and back, never pickle), `hashes` (duplicate, conflict and overlap counts by Spark
aggregations on a row hash), `engine` (per-partition partials through `mapInArrow`, merged on the
driver, then the local engine's analysis), `sample` (the confirmation sample, drawn per partition).
`mlstablint.commands.spark` reads tables with Spark for `audit --engine spark`. Nothing here is
imported unless `--engine spark` (or the API with a Spark DataFrame) asks for it.
"""
