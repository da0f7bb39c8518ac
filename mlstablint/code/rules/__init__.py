"""Every code rule, in id order."""

from mlstablint.code.rule import CodeRule
from mlstablint.code.rules import linalg, losses, numeric

ALL_RULES: list[type[CodeRule]] = sorted([*numeric.RULES, *linalg.RULES, *losses.RULES], key=lambda cls: cls.id)

__all__ = ["ALL_RULES"]
