"""The offline model's brain: a deterministic planner over OpenAI-style messages.

Given the conversation and the tools on offer, it either asks for tool calls
(several at once for a multi-part question) or, once tool results are in,
writes the answer from them. It reuses the previous turn's tool for follow-ups
("and for AAPL?"), answers memory questions from the conversation itself, and
says what it can do when it cannot help. It never presents sample data as live.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from services.llm.messages import SUMMARY_FIRST
from services.tools import is_failure_text, parse_result

Message = dict[str, Any]


@dataclass
class Plan:
    content: str | None = None
    tool_calls: list[tuple[str, dict[str, Any]]] = field(default_factory=list)


COMPANIES = {
    "tesla": "TSLA", "apple": "AAPL", "microsoft": "MSFT", "google": "GOOGL", "alphabet": "GOOGL",
    "amazon": "AMZN", "nvidia": "NVDA", "meta": "META", "facebook": "META", "netflix": "NFLX",
}  # fmt: skip
NOT_TICKERS = {
    "I", "IP", "ROI", "AND", "THE", "FOR", "OF", "WHAT", "IS", "MY", "A", "AN", "TO", "IN", "ON", "AT",
    "ME", "IT", "USD", "JIRA", "OK", "US", "UK", "SF", "NYC", "HOW", "ABOUT", "NOW", "DO", "YOU",
}  # fmt: skip

KEY = re.compile(r"\b([A-Za-z][A-Za-z0-9]{1,9}-\d{1,7})\b")
PROJECT = re.compile(r"\bproject\s+([A-Za-z][A-Za-z0-9]{1,9})\b", re.I)
TICKER = re.compile(r"\$?\b([A-Z]{1,5}(?:\.[A-Z]{1,2})?)\b")
MONEY = re.compile(
    r"\$\s?([\d,]+(?:\.\d+)?)\s*(k|m)?\b|\b([\d,]+(?:\.\d+)?)\s*(k|m)?\s*(?:dollars|usd)\b", re.I
)
PERCENT = re.compile(r"(-?\d+(?:\.\d+)?)\s*(?:%|percent)", re.I)
YEARS = re.compile(r"(\d+(?:\.\d+)?)\s*(?:years?|yrs?)\b", re.I)
ARITHMETIC = re.compile(r"[-(]*\d[\d.,]*\s*(?:[-+*/%^x×÷]{1,2}\s*[-(]*\s*\d[\d.,]*\)*\s*)+\)*")
CITY = re.compile(r"\b(?:in|for|at)\s+([A-Za-z][A-Za-z .'-]{1,40}?)\s*(?:[?!.,]|\band\b|$)", re.I)
FOLLOW_UP = re.compile(r"^\s*(?:and|what about|how about|same for|and for|now)\b", re.I)


def plan(messages: list[Message], tools: list[dict[str, Any]]) -> Plan:
    available = {t["function"]["name"] for t in tools if t.get("type") == "function"}
    last_user = _last_index(messages, "user")
    if last_user is None:
        return Plan(content=_help(available))
    results = [m for m in messages[last_user + 1 :] if m.get("role") == "tool"]
    if results:
        return Plan(content=_answer(messages[last_user + 1 :]))
    text = str(messages[last_user].get("content") or "")
    memory = _memory_answer(text, messages, last_user)
    if memory:
        return Plan(content=memory)
    calls = _intents(text)
    if not calls:
        calls = _follow_up(text, messages, last_user)
    if not calls:
        return Plan(content=_help(available))
    missing = sorted({name for name, _ in calls if name not in available})
    calls = [(name, args) for name, args in calls if name in available]
    if missing and not calls:
        return Plan(content=_unavailable(missing))
    return Plan(tool_calls=calls)


# -- understanding the question ------------------------------------------------


def _intents(text: str) -> list[tuple[str, dict[str, Any]]]:
    lower = text.lower()
    calls: list[tuple[str, dict[str, Any]]] = []
    if re.search(r"\broi\b|return on investment|invest", lower):
        roi = _roi_args(text)
        if roi:
            calls.append(("calculate_roi", roi))
    if re.search(r"\bip\b|ip address", lower):
        calls.append(("get_ip", {}))
    if "jira" in lower or KEY.search(text) or re.search(r"\bissues?\b", lower):
        project = _project(text)
        if project:
            calls.append(("jira_metrics", {"project": project}))
    if re.search(r"stock|share price|\bprice\b|quote|ticker|trading", lower):
        calls.extend(("stock_price", {"ticker": t}) for t in _tickers(text))
    if re.search(r"weather|temperature|forecast|raining|sunny", lower):
        city = _city(text)
        if city:
            calls.append(("weather", {"city": city}))
    if not any(name == "calculate_roi" for name, _ in calls):
        expression = _expression(text)
        if expression:
            calls.append(("calculator", {"expression": expression}))
    return calls


def _follow_up(text: str, messages: list[Message], last_user: int) -> list[tuple[str, dict[str, Any]]]:
    """'and for AAPL?': the previous question's tool with the new argument."""
    previous = _previous_calls(messages, last_user)
    if not previous:
        return []
    name, args = previous[-1]
    if name == "stock_price":
        return [("stock_price", {"ticker": t}) for t in _tickers(text)]
    if name == "weather":
        city = _city(text) or _bare_phrase(text)
        return [("weather", {"city": city})] if city else []
    if name == "jira_metrics":
        project = _project(text) or next(iter(_tickers(text)), None)
        return [("jira_metrics", {"project": project})] if project else []
    if name == "calculate_roi" and FOLLOW_UP.search(text):
        updated = {**args, **_roi_args(text, partial=True)}
        return [("calculate_roi", updated)] if updated != args else []
    if name == "calculator":
        expression = _expression(text)
        return [("calculator", {"expression": expression})] if expression else []
    if name == "get_ip" and FOLLOW_UP.search(text):
        return [("get_ip", {})]
    return []


def _previous_calls(messages: list[Message], before: int) -> list[tuple[str, dict[str, Any]]]:
    for message in reversed(messages[:before]):
        if message.get("role") == "assistant" and message.get("tool_calls"):
            return [
                (call["function"]["name"], parse_result(call["function"].get("arguments")))
                for call in message["tool_calls"]
            ]
    return []


def _roi_args(text: str, partial: bool = False) -> dict[str, Any]:
    args: dict[str, Any] = {}
    money = MONEY.search(text)
    if money:
        amount, suffix = (
            (money.group(1), money.group(2)) if money.group(1) else (money.group(3), money.group(4))
        )
        value = float(amount.replace(",", ""))
        args["principal"] = value * {"k": 1e3, "m": 1e6}.get((suffix or "").lower(), 1)
    rate = PERCENT.search(text)
    if rate:
        args["annual_rate_percent"] = float(rate.group(1))
    years = YEARS.search(text)
    if years:
        args["years"] = float(years.group(1))
    if partial or len(args) == 3:
        return args
    return {}


def _tickers(text: str) -> list[str]:
    found: list[str] = []
    lower = text.lower()
    for name, symbol in COMPANIES.items():
        if re.search(rf"\b{name}\b", lower) and symbol not in found:
            found.append(symbol)
    for match in TICKER.finditer(text):
        symbol = match.group(1)
        if symbol not in NOT_TICKERS and symbol not in found and not KEY.match(text[match.start() :]):
            found.append(symbol)
    return found


def _project(text: str) -> str | None:
    key = KEY.search(text)
    if key:
        return key.group(1).upper()
    project = PROJECT.search(text)
    return project.group(1).upper() if project else None


def _city(text: str) -> str | None:
    match = CITY.search(text)
    if not match:
        return None
    city = re.sub(r"^(?:the\s+)", "", match.group(1).strip(), flags=re.I)
    return city.title() if city and city.lower() not in {"today", "now", "me"} else None


def _bare_phrase(text: str) -> str | None:
    """The thing named in 'and Tokyo?' / 'what about New York?'."""
    stripped = FOLLOW_UP.sub("", text).strip(" ?!.")
    stripped = re.sub(r"^(?:for|in|at)\s+", "", stripped, flags=re.I)
    return stripped.title() if 0 < len(stripped) <= 40 else None


def _expression(text: str) -> str | None:
    best = max((m.group(0).strip() for m in ARITHMETIC.finditer(text)), key=len, default="")
    if not best or not re.search(r"\d\s*[-+*/%^x×÷]", best):
        return None
    return best.rstrip(" ,.")


def _memory_answer(text: str, messages: list[Message], last_user: int) -> str | None:
    lower = text.lower()
    if not re.search(r"\b(ask|asked|question)\b", lower):
        return None
    questions = [str(m.get("content")) for m in messages[:last_user] if m.get("role") == "user"]
    first = _summarised_first(messages) or (questions[0] if questions else None)
    if re.search(r"\bfirst\b", lower):
        if first is None:
            return "This is your first question in this conversation."
        return f'Your first question was: "{first}"'
    if re.search(r"\b(last|previous|before|earlier)\b", lower):
        if not questions:
            return "You have not asked anything before this in this conversation."
        return f'Your previous question was: "{questions[-1]}"'
    return None


def _summarised_first(messages: list[Message]) -> str | None:
    for message in messages:
        content = str(message.get("content") or "")
        if message.get("role") == "system" and SUMMARY_FIRST in content:
            return content.split(SUMMARY_FIRST, 1)[1].split("\n", 1)[0].strip().strip('"')
    return None


# -- writing the answer ----------------------------------------------------------


def _answer(after_question: list[Message]) -> str:
    calls: dict[str, tuple[str, dict[str, Any]]] = {}
    for message in after_question:
        for call in message.get("tool_calls") or []:
            calls[call["id"]] = (call["function"]["name"], parse_result(call["function"].get("arguments")))
    lines = []
    for message in after_question:
        if message.get("role") != "tool":
            continue
        name, args = calls.get(str(message.get("tool_call_id")), (str(message.get("name")), {}))
        result = parse_result(message.get("content"))
        try:
            lines.append(_describe(name, args, result))
        except (KeyError, TypeError, ValueError):  # an unexpected shape: show it as it is
            lines.append(f"`{name}` returned: {json.dumps(result)}")
    return "\n\n".join(lines) if lines else "I have no results to report."


def _describe(name: str, args: dict[str, Any], result: dict[str, Any]) -> str:
    if "error" in result:
        return f"I could not get that from `{name}`: {result['error']}"
    if is_failure_text(result):
        return f"I could not get that from `{name}`: {result['text']}"
    sample = " _(sample data, not live)_" if "sample data" in str(result.get("source", "")) else ""
    if name == "calculator":
        return f"`{result.get('expression', args.get('expression'))}` = **{result.get('result')}**"
    if name == "weather":
        return (
            f"Weather in {result['city']}: {result['conditions']}, {result['temperature_c']} °C "
            f"({result['temperature_f']} °F), humidity {result['humidity_percent']}%, "
            f"wind {result['wind_kmh']} km/h.{sample}"
        )
    if name == "get_ip":
        others = [a["address"] for a in result.get("addresses", []) if not a.get("loopback")]
        return (
            f"Your IP address is **{result.get('primary_address')}** (host `{result.get('hostname')}`)."
            + (f" All addresses: {', '.join(others)}." if len(others) > 1 else "")
        )
    if name == "jira_metrics":
        return (
            f"Jira project {result['project']}: **{result['open_issues']} open**, "
            f"{result['closed_issues']} closed, {result['total_issues']} total issues.{sample}"
        )
    if name == "stock_price":
        return (
            f"{result['ticker']}: **${result['price']:,.2f}** {result['currency']} "
            f"({result['change_percent']:+.2f}% today).{sample}"
        )
    if name == "calculate_roi":
        return (
            f"${result['principal']:,.2f} at {result['annual_rate_percent']:g}% a year for "
            f"{result['years']:g} years grows to **${result['final_value']:,.2f}**: a gain of "
            f"${result['gain']:,.2f}, an ROI of {result['roi_percent']:.2f}% (compounded annually)."
        )
    return f"`{name}` returned: {json.dumps(result)}"


def _help(available: set[str]) -> str:
    abilities = {
        "calculator": 'arithmetic ("What is 125 * 8?")',
        "weather": 'the weather in a city ("What\'s the weather in San Francisco?")',
        "get_ip": "your IP address",
        "jira_metrics": 'Jira metrics for a project ("Get JIRA metrics for DEMO-456")',
        "stock_price": 'stock quotes ("What\'s the stock price of TSLA?")',
        "calculate_roi": 'investment ROI ("Calculate ROI for $10,000 at 5% over 10 years")',
    }
    offered = [text for name, text in abilities.items() if name in available]
    if not offered:
        return "No tools are available right now, so I cannot help with that."
    return "I'm the offline demo model, so I can only help with: " + "; ".join(offered) + "."


def _unavailable(names: list[str]) -> str:
    return f"The tools needed for that ({', '.join(names)}) are not available right now."


def _last_index(messages: list[Message], role: str) -> int | None:
    for index in range(len(messages) - 1, -1, -1):
        if messages[index].get("role") == role:
            return index
    return None
