"""Every code rule, in id order."""

from mlstablint.code.rule import CodeRule
from mlstablint.code.rules import leakage, linalg, losses, numeric

ALL_RULES: list[type[CodeRule]] = sorted([*numeric.RULES, *linalg.RULES, *leakage.RULES, *losses.RULES],
                                         key=lambda cls: cls.id)

__all__ = ["ALL_RULES"]
