"""The data auditor: stream a training table in record batches, build mergeable partial
statistics, merge them and turn them into MSL6xx findings.

Layout: `read` (sources → record batches), `partials` (the mergeable statistics), `onehot` and
`linalg` (one-hot groups, rank, conditioning), `analyze` (statistics → findings), `locate`
(which code line loads a dataset), `audit` (orchestration). This module imports nothing heavy,
so that `mlstablint.data.thresholds` can be used by the configuration at start-up.
"""
