"""mlstablint: is the model wrong, or is the computation unstable?

A linter for numerically unstable patterns in ML pipeline code, with a data auditor
and empirical confirmation (see DESIGN.md in the project's shared folder).
"""

__version__ = "0.1.0"

__all__ = ["__version__"]
