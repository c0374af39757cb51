"""Arithmetic as people write it, rewritten into what the calculator tool accepts.

The calculator (services/teams/calculator.py) takes only numbers, + - * / // % **,
parentheses and unary minus, and it must get the whole expression: a fragment
("3^2" out of "sqrt(144) + 3^2") is a wrong answer that looks right. So every
rewrite here is exact ("twelve times four" -> "12 * 4", "sqrt(144)" -> "(144)**0.5",
"15% of 240" -> "240 * 15 / 100"), and an expression next to something that
cannot be rewritten (a logarithm, a factorial) is not sent at all.

It also reads the numbers of an investment question (amount, rate, years), which
people write in the same ways ("five thousand dollars", "4 percent", "2,500").
"""

from __future__ import annotations

import re

SMALL = {
    "zero": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8,
    "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14, "fifteen": 15,
    "sixteen": 16, "seventeen": 17, "eighteen": 18, "nineteen": 19,
}  # fmt: skip
TENS = {"twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70, "eighty": 80,
        "ninety": 90}  # fmt: skip
SCALES = {"thousand": 1_000, "million": 1_000_000}

WORD = re.compile(r"[A-Za-z]+")
NUMBER = r"\d[\d,]*(?:\.\d+)?|\.\d+"
OPERATOR = r"(?:\*\*|//|[-+*/%^×÷−x])"
# An operand as it appears inside a longer expression: signs and brackets around a number.
OPERAND = rf"[-−(\s]*(?:{NUMBER})[\s)]*"
EXPRESSION = re.compile(rf"{OPERAND}(?:{OPERATOR}{OPERAND})+")
DATE = re.compile(r"\d{4}-\d{1,2}-\d{1,2}|\d{1,2}/\d{1,2}/\d{2,4}")
BINARY = re.compile(rf"[\d)]\s*{OPERATOR}\s*[-−(\d.]")

# Unary minus first, so that "times negative 3" sees a number after "times".
UNARY_WORD = re.compile(r"\b(?:minus|negative)\s+(?=[(\d.])", re.I)
OPERATOR_WORD = re.compile(
    r"\b(to\s+the\s+power\s+of|raised\s+to(?:\s+the\s+power\s+of)?|multiplied\s+by|times|"
    r"divided\s+by|over|plus|minus|mod(?:ulo)?)\s+(?=[-−(\d.])",
    re.I,
)
SYMBOLS = {"times": "*", "multiplied": "*", "divided": "/", "over": "/", "plus": "+", "minus": "-",
           "mod": "%", "modulo": "%", "to": "**", "raised": "**"}  # fmt: skip
PERCENT_OF = re.compile(rf"({NUMBER})\s*(?:%|percent\b|per\s+cent\b)\s+of\s+\$?({NUMBER})", re.I)
ROOT = re.compile(r"(?:\b(?:the\s+)?square\s+root\s+of|\bsqrt\b|√)\s*(?:of\s+)?", re.I)
POWER_WORD = re.compile(rf"(\((?:[^()]|\([^()]*\))*\)|{NUMBER})\s*(squared|cubed)\b", re.I)
# What the calculator cannot do: an expression beside one of these is only part of the
# question, so it is not sent at all (a root of a sum, a logarithm, an equation to solve,
# or "50 - 20%", which people mean as 40, not the 30 of "50 - 20").
UNSUPPORTED_BEFORE = re.compile(
    r"\b(?:square\s+root|sqrt|cube\s+root|root|log\w*|ln|sin|cos|tan|exp|abs|factorial|floor|ceil\w*|"
    r"round)(?:\s+of)?\s*$",
    re.I,
)
UNSUPPORTED_AFTER = re.compile(
    r"\(|!\s*[-+*/^\d(]|\s*(?:%|percent\b|per\s+cent\b|squared|cubed|factorial\b|th\s+root|=\s*[\w(])", re.I
)

# calculate_roi's arguments: an amount, a yearly rate and a number of years.
MONEY = re.compile(
    r"\$\s?([\d,]+(?:\.\d+)?)\s*(k|m)?\b|\b([\d,]+(?:\.\d+)?)\s*(k|m)?\s*(?:dollars|usd)\b", re.I
)
PERCENT = re.compile(r"(-?\d+(?:\.\d+)?)\s*(?:%|percent\b|per\s+cent\b)", re.I)
YEARS = re.compile(r"(\d+(?:\.\d+)?)\s*(?:years?|yrs?)\b", re.I)
# A bare amount has a k/m suffix or is followed by what follows an amount ("5000 at 7%",
# "2,500?", "1000 grows to"), not by a noun ("2 more years").
AMOUNT = re.compile(
    r"(?<![\w.,-])(\d[\d,]*(?:\.\d+)?)(?:\s*(k|m)\b|(?=\s*(?:[?!.,;)]|$|(?:at|for|over|in|into|with|and|"
    r"then|grows?|becomes?|earns?|earning)\b)))",
    re.I,
)


def expressions(text: str) -> list[str]:
    """Every whole arithmetic expression in `text`, in calculator syntax, in order."""
    rewritten = rewrite(text)
    found: list[str] = []
    for match in EXPRESSION.finditer(rewritten):
        if not _whole(rewritten[: match.start()], match.group(0), rewritten[match.end() :]):
            continue
        expression = _unwrapped(_balanced(match.group(0).strip().rstrip(",.").strip()))
        if BINARY.search(expression) and not DATE.fullmatch(expression) and expression not in found:
            found.append(expression)
    return found


def _whole(before: str, span: str, after: str) -> bool:
    """Whether `span` is a whole expression, not an operand of something it cannot do."""
    if UNSUPPORTED_BEFORE.search(before) or UNSUPPORTED_AFTER.match(after):
        return False
    # f(2 + 3) or 2 (3 + 4): a function call or an implicit product it would cut in half.
    if span.lstrip().startswith("("):
        before = before + span[: len(span) - len(span.lstrip())]
        return not re.search(r"(?:[A-Za-z]|[\d)]\s*)$", before)
    return True


def rewrite(text: str) -> str:
    """`text` with number words, operator words, roots, powers and percentages in symbols."""
    text = re.sub(r"\$\s?(?=\d)", "", digits(text))
    text = PERCENT_OF.sub(lambda m: f"({m.group(2)} * {m.group(1)} / 100)", text)
    text = _roots(text)
    text = POWER_WORD.sub(
        lambda m: f"{_grouped(m.group(1))}**{2 if m.group(2).lower() == 'squared' else 3}", text
    )
    text = UNARY_WORD.sub(lambda m: m.group(0) if _after_operand(m.string, m.start()) else "-", text)
    return OPERATOR_WORD.sub(_operator, text)


def digits(text: str) -> str:
    """`text` with its numbers in words ("a hundred and five", "twenty-one") in digits."""
    words = list(WORD.finditer(text))
    out, position, index = [], 0, 0
    while index < len(words):
        value, end = _number(text, words, index)
        if end == index or _hyphenated(text, words[index].start(), words[end - 1].end()):
            index += 1
            continue
        out += [text[position : words[index].start()], str(value)]
        position, index = words[end - 1].end(), end
    return "".join([*out, text[position:]])


def _number(text: str, words: list[re.Match[str]], start: int) -> tuple[int, int]:
    """The number spelled by the words from `start`, and the index after its last word
    (`start` itself when there is none). Stops where the words stop making one number,
    so "seven three" is two numbers and "one of them" only its first word."""
    total = group = smallest_scale = 0
    last, index, end = "", start, start
    while index < len(words):
        gap = text[words[index - 1].end() : words[index].start()] if index > start else " "
        # Only "twenty-one" is hyphenated: "one-two" is two numbers (or a range).
        if not (gap.isspace() or (gap == "-" and last == "ten")):
            break
        word = words[index].group(0).lower()
        following = words[index + 1].group(0).lower() if index + 1 < len(words) else ""
        if word == "and" and last in {"hundred", "scale"} and (following in SMALL or following in TENS):
            index += 1
            continue
        step = _step(word, following, last, group, smallest_scale)
        if step is None:
            break
        group, last, scale = step
        if scale:
            total, group, smallest_scale = total + group * scale, 0, scale
        index += 1
        end = index
    return total + group, end


def _step(
    word: str, following: str, last: str, group: int, smallest_scale: int
) -> tuple[int, str, int] | None:
    """The number's group, the kind of `word` and its scale once `word` is added, or None
    when `word` cannot continue the number (a second unit, "zero" after anything)."""
    if word == "a" and not last and following in {"hundred", *SCALES}:
        return 1, "unit", 0
    if word in SMALL:
        value = SMALL[word]
        fits = (last in {"", "hundred", "scale"} and (not last or value > 0)) or (
            last == "ten" and 0 < value < 10
        )
        return (group + value, "unit", 0) if fits else None
    if word in TENS:
        return (group + TENS[word], "ten", 0) if last in {"", "hundred", "scale"} else None
    if word == "hundred":
        return (group * 100, "hundred", 0) if last == "unit" and group < 100 else None
    if word in SCALES and group and (not smallest_scale or SCALES[word] < smallest_scale):
        return group, "scale", SCALES[word]
    return None


def _hyphenated(text: str, start: int, end: int) -> bool:
    """Part of a word like "one-on-one" or "two-thirds", which is no number to compute with."""
    return text[max(start - 1, 0) : start] == "-" or text[end : end + 1] == "-"


def _after_operand(text: str, position: int) -> bool:
    return bool(re.search(r"[\d)]\s*$", text[:position]))


def _operator(match: re.Match[str]) -> str:
    if not _after_operand(match.string, match.start()):
        return match.group(0)
    return SYMBOLS[match.group(1).split()[0].lower()] + " "


def _roots(text: str) -> str:
    """'sqrt(x)', 'sqrt 2' and 'square root of x' as '(x)**0.5', innermost last."""
    position = 0
    while match := ROOT.search(text, position):
        rest = text[match.end() :]
        close = _closing(rest) if rest.startswith("(") else None
        number = re.match(NUMBER, rest)
        operand = rest[: close + 1] if close is not None else number.group(0) if number else ""
        if not operand:  # "the square root of minus four": left as words, so nothing is sent
            position = match.end()
            continue
        rest = rest[len(operand) :]
        root = f"{_grouped(operand)}**0.5"
        # ** binds right to left: sqrt(2)^2 must square the root, not root the 2.
        if re.match(r"\s*(?:\*\*|\^|squared|cubed)", rest, re.I):
            root = f"({root})"
        text = f"{text[: match.start()]}{root}{rest}"
    return text


def _closing(text: str) -> int | None:
    """The index of the bracket that closes the one `text` starts with."""
    depth = 0
    for index, char in enumerate(text):
        depth += {"(": 1, ")": -1}.get(char, 0)
        if depth == 0:
            return index
    return None


def _grouped(operand: str) -> str:
    return operand if operand.startswith("(") and _closing(operand) == len(operand) - 1 else f"({operand})"


def _balanced(expression: str) -> str:
    """Without the stray brackets of the prose around it: '(2 + 2)' of '(see 2 + 2)'."""
    while expression.count("(") > expression.count(")") and expression.startswith("("):
        expression = expression[1:].lstrip()
    while expression.count(")") > expression.count("(") and expression.endswith(")"):
        expression = expression[:-1].rstrip()
    return expression


def _unwrapped(expression: str) -> str:
    while expression.startswith("(") and _closing(expression) == len(expression) - 1:
        expression = expression[1:-1].strip()
    return expression


# -- the numbers of an investment question -----------------------------------------


def investment(text: str, partial: bool = False) -> dict[str, float]:
    """calculate_roi's arguments in `text` (all three, or none unless `partial`: a follow-up
    such as "and over 20 years?" changes one)."""
    text = digits(text)  # "five thousand dollars for ten years"
    args: dict[str, float] = {}
    principal = _principal(text)
    if principal is not None:
        args["principal"] = principal
    rate = PERCENT.search(text)
    if rate:
        args["annual_rate_percent"] = float(rate.group(1))
    years = YEARS.search(text)
    if years:
        args["years"] = float(years.group(1))
    if partial or len(args) == 3:
        return args
    return {}


def _principal(text: str) -> float | None:
    # A "$" or "dollars" says which number is the amount; without one, it is the number
    # left once the rate and the years are taken ("ROI on 5000 at 7% for 3 years").
    money = MONEY.search(text)
    bare = AMOUNT.search(PERCENT.sub(" ", YEARS.sub(" ", text)))
    if money:
        amount, suffix = (money.group(1), money.group(2)) if money.group(1) else money.group(3, 4)
    elif bare:
        amount, suffix = bare.group(1, 2)
    else:
        return None
    return float(amount.replace(",", "")) * {"k": 1e3, "m": 1e6}.get((suffix or "").lower(), 1)
