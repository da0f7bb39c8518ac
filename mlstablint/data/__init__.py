"""The data auditor: stream a training table in record batches, build mergeable partial
statistics, merge them and turn them into MSL6xx findings.

Layout: `read` (sources → record batches), `partials` (the mergeable statistics), `onehot` and
`linalg` (one-hot groups, rank, conditioning), `analyze` (statistics → findings), `audit`
(orchestration). It imports neither the other engines nor the commands (`mlstablint.commands` places
findings on the code line that loads a table, and runs the confirmations); its thresholds live
below it, in `mlstablint.thresholds`, with the configuration.
"""
