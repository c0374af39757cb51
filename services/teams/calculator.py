"""Safe arithmetic: an AST walk over a whitelist, never eval or exec.

Supports + - * / // % **, parentheses, unary minus and decimals, with limits
on input length, nesting depth, exponents and result size, so no input can
exhaust memory or CPU.
"""

from __future__ import annotations

import ast
import math
import operator
import re
from collections.abc import Callable

from services.tools import ToolInputError

MAX_LENGTH = 200
MAX_DEPTH = 32
MAX_EXPONENT = 1_000
MAX_MAGNITUDE = 1e100

Number = int | float

BINARY: dict[type[ast.operator], Callable[[Number, Number], Number]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv,
    ast.Mod: operator.mod,
    ast.Pow: operator.pow,
}
UNARY: dict[type[ast.unaryop], Callable[[Number], Number]] = {
    ast.USub: operator.neg,
    ast.UAdd: operator.pos,
}
# What people type for the same operators.
SPELLINGS = {"×": "*", "x": "*", "X": "*", "÷": "/", "^": "**", "−": "-"}
THOUSANDS = re.compile(r"(?<=\d),(?=\d{3}\b)")
# Hexadecimal, octal and binary literals: `0x10` must not become `0*10` (the `x` of
# "2x3" is a multiplication sign).
NON_DECIMAL = re.compile(r"(?<![\d.])0[xXoObB][0-9a-fA-F_]")


def normalise(expression: str) -> str:
    text = THOUSANDS.sub("", expression.strip())
    for spelling, symbol in SPELLINGS.items():
        text = text.replace(spelling, symbol)
    return text


def evaluate(expression: str) -> Number:
    """The value of `expression`, or ToolInputError saying why it cannot be computed."""
    if not expression or not expression.strip():
        raise ToolInputError("The expression is empty.")
    if len(expression) > MAX_LENGTH:
        raise ToolInputError(f"The expression is longer than {MAX_LENGTH} characters.")
    if NON_DECIMAL.search(expression):
        raise ToolInputError(
            f"Only decimal numbers are allowed; '{expression}' has a hexadecimal, octal or binary one."
        )
    text = normalise(expression)
    if not text.isascii():
        raise ToolInputError("The expression may only contain numbers, + - * / // % ** and parentheses.")
    try:
        tree = ast.parse(text, mode="eval")
    except (SyntaxError, ValueError):
        raise ToolInputError(f"'{expression}' is not an arithmetic expression.") from None
    except RecursionError:
        raise ToolInputError(f"The expression is nested more than {MAX_DEPTH} levels deep.") from None
    return _check(_eval(tree.body, 0))


def _eval(node: ast.AST, depth: int) -> Number:
    if depth > MAX_DEPTH:
        raise ToolInputError(f"The expression is nested more than {MAX_DEPTH} levels deep.")
    if isinstance(node, ast.Constant) and type(node.value) in (int, float):
        assert isinstance(node.value, int | float)
        return _check(node.value)
    if isinstance(node, ast.UnaryOp) and type(node.op) in UNARY:
        return UNARY[type(node.op)](_eval(node.operand, depth + 1))
    if isinstance(node, ast.BinOp) and type(node.op) in BINARY:
        left = _eval(node.left, depth + 1)
        right = _eval(node.right, depth + 1)
        return _apply(node.op, left, right)
    raise ToolInputError(
        "Only numbers, + - * / // % **, parentheses and unary minus are allowed "
        f"(found {type(node).__name__})."
    )


def _apply(op: ast.operator, left: Number, right: Number) -> Number:
    if isinstance(op, ast.Pow):
        if abs(right) > MAX_EXPONENT:
            raise ToolInputError(f"Exponents are limited to ±{MAX_EXPONENT}.")
        # Signed: 2 ** -1000 is tiny, not large.
        if left != 0 and right * math.log10(abs(left)) > math.log10(MAX_MAGNITUDE):
            raise ToolInputError("The result is too large (over 1e100).")
        if left == 0 and right < 0:
            raise ToolInputError("Division by zero.")
        if left < 0 and not float(right).is_integer():
            raise ToolInputError("A negative number to a fractional power is not a real number.")
    if isinstance(op, ast.Div | ast.FloorDiv | ast.Mod) and right == 0:
        raise ToolInputError("Division by zero.")
    try:
        return _check(BINARY[type(op)](left, right))
    except OverflowError:
        raise ToolInputError("The result is too large (over 1e100).") from None


def _check(value: Number) -> Number:
    if isinstance(value, float) and (math.isnan(value) or math.isinf(value)):
        raise ToolInputError("The result is not a finite number.")
    if abs(value) > MAX_MAGNITUDE:
        raise ToolInputError("The result is too large (over 1e100).")
    return value


def tidy(value: Number) -> Number:
    """Integers stay integers; floats lose binary noise (0.1 + 0.2 -> 0.3)."""
    if isinstance(value, float):
        rounded = float(f"{value:.12g}")
        return int(rounded) if rounded.is_integer() and abs(rounded) < 1e15 else rounded
    return value
