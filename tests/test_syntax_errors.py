"""Syntax errors are reported as CPython reports them — its message, its line and column, checked against
`compile()` itself — and a Python 2 file is said to be Python 2."""

from __future__ import annotations

import pytest

from mlstablint.code.engine import FileChecker
from mlstablint.code.rules import ALL_RULES

HEADER = "import numpy as np\n\nx = np.ones(3)\n"
PYTHON2 = {
    "print statement": 'print "loss", np.log(1 + x)\n',
    "exec statement": 'exec "y = 1"\n',
    "except with a comma": "try:\n    y = np.exp(x)\nexcept OverflowError, e:\n    y = None\n",
    "raise with a comma": 'raise ValueError, "singular"\n',
    "octal literal": "mode = 0777\n",
    "long literal": "n = 10L\n",
    "backticks": "s = `x`\n",
    "not-equal operator": "if x <> 0: pass\n",
}
PYTHON3 = {
    "unclosed parameter list": "def f(:\n    return 1\n",
    "missing colon": "if x > 0\n    y = 1\n",
    "stray indent": "y = 1\n    z = 2\n",
    "backtick inside a string": 'msg = "use `np.log1p`" +\n',
}


def _compile_error(text: str) -> SyntaxError:
    with pytest.raises(SyntaxError) as info:
        compile(text, "t.py", "exec")
    return info.value


def _message(text: str) -> str:
    report = FileChecker({r.id for r in ALL_RULES}).check_source(text, "t.py")
    assert report.findings == [] and len(report.errors) == 1, report
    return report.errors[0].message


@pytest.mark.parametrize("name", sorted(PYTHON2))
def test_python2_files_get_cpythons_message_and_are_named_python2(name: str) -> None:
    text = HEADER + PYTHON2[name]
    exc = _compile_error(text)
    message = _message(text)
    assert message.startswith(f"syntax error at line {exc.lineno}, column {exc.offset}: {exc.msg}")
    assert "Python 2" in message


@pytest.mark.parametrize("name", sorted(PYTHON3))
def test_python3_syntax_errors_get_cpythons_line_and_message(name: str) -> None:
    text = HEADER + PYTHON3[name]
    exc = _compile_error(text)
    assert _message(text) == f"syntax error at line {exc.lineno}, column {exc.offset}: {exc.msg}"


def test_print_statement_is_reported_on_its_own_line() -> None:
    """The case libcst got wrong: its "expected one of ..." pointed one line after the print statement."""
    message = _message('import numpy as np\nprint "x"\ny = np.exp(1)\n')
    assert message.startswith("syntax error at line 2, column 1: Missing parentheses in call to 'print'")
