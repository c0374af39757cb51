"""The offline model's brain: a deterministic planner over OpenAI-style messages.

Given the conversation and the tools on offer, it either asks for tool calls
(several at once for a multi-part question) or, once tool results are in,
writes the answer from them. It reuses the previous turn's tool for follow-ups
("and for AAPL?"), answers memory questions from the conversation itself, greets
and thanks back, and says what it can do when it cannot help. It never presents
sample data as live. Arithmetic in words and symbols is read by `arithmetic`.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from services.llm.messages import SUMMARY_FIRST, SUMMARY_OTHERS, UNAVAILABLE_NOTE
from services.llm.offline import arithmetic
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
STOCK_WORDS = re.compile(r"stock|share price|\bshares\b|\bprice\b|quote|ticker|trading", re.I)
# When the weather is wanted is not where: "in London today" is London.
TIME = re.compile(
    r"\b(?:(?:for|on|at|in)\s+)?(?:right\s+now|now|today|tonight|tomorrow(?:\s+(?:morning|afternoon|"
    r"evening|night))?|this\s+(?:morning|afternoon|evening|week(?:end)?)|in\s+the\s+(?:morning|afternoon|"
    r"evening)|currently|at\s+(?:the\s+moment|present)|later(?:\s+today)?)\b",
    re.I,
)
# Zero-width, so "interested in the weather in Paris" also tries "in Paris".
PLACES = re.compile(r"\b(?:in|for|at)\s+(?=([A-Za-z][A-Za-z .,'&-]*))", re.I)
LIST_SEPARATOR = re.compile(r"\s*(?:,|&|\band\b|\bor\b)\s*", re.I)
NOT_PLACE = {
    "my", "me", "you", "i", "what", "what's", "whats", "is", "are", "how", "stock", "stocks", "price",
    "prices", "share", "shares", "ip", "address", "jira", "project", "roi", "weather", "temperature",
    "forecast", "please", "tell", "get", "give", "show", "about", "it", "time", "metrics", "quote",
}  # fmt: skip
FOLLOW_UP = re.compile(r"^\s*(?:and|what about|how about|same for|and for|now)\b", re.I)
# A question about the conversation itself ("what did I ask first?", "which tickers have I
# asked about?", "remind me of my last question"), not any message that says "first" and
# "question": the asking and the conversation must be the sentence's subject.
MEMORY = re.compile(
    r"\b(?:what|which)(?:\s+\w+){0,4}?\s+(?:(?:did|have|had)\s+i\s+(?:ask|say|type|mention)"
    r"|i\s+(?:asked|said|typed|mentioned)\b|(?:was|were|is|are)\s+my\s+(?:\w+\s+){0,2}(?:question|message)s?\b)"
    r"|\b(?:remind|repeat|tell)\s+(?:me\s+)?(?:of\s+|about\s+)?my\s+(?:\w+\s+){0,2}(?:question|message)s?\b",
    re.I,
)
ORDINALS = {"first": 1, "second": 2, "third": 3, "fourth": 4, "fifth": 5, "sixth": 6, "seventh": 7,
            "eighth": 8, "ninth": 9, "tenth": 10}  # fmt: skip
ORDINAL = re.compile(rf"\b(?:({'|'.join(ORDINALS)})|(\d+)(?:st|nd|rd|th))\b", re.I)
LATEST = re.compile(r"\b(last|latest|most recent|previous|before|earlier)\b", re.I)
# "which tickers have I asked about?": what the user calls the things, what they are
# called in the answer, and the tool argument that names them.
RECALL = (
    (r"tickers?|stocks?|shares|compan(?:y|ies)|symbols?", "tickers", "stock_price", "ticker"),
    (r"cit(?:y|ies)|places?|locations?", "cities", "weather", "city"),
    (r"projects?", "Jira projects", "jira_metrics", "project"),
)
GREETING_WORDS = {"hi", "hello", "hey", "hiya", "howdy", "greetings", "morning", "afternoon", "evening"}
THANKS_WORDS = {"thanks", "thank", "thx", "ty", "cheers", "appreciated", "appreciate"}
FAREWELL_WORDS = {"bye", "goodbye"}
SOCIAL_FILLER = {
    "you", "so", "much", "very", "a", "lot", "again", "there", "all", "good", "ok", "okay", "great", "cool",
    "nice", "perfect", "awesome", "dagent", "oh", "that", "for", "the", "help", "it", "everyone", "really",
    "many", "and", "now",
}  # fmt: skip


def plan(messages: list[Message], tools: list[dict[str, Any]]) -> Plan:
    available = {t["function"]["name"] for t in tools if t.get("type") == "function"}
    last_user = _last_index(messages, "user")
    if last_user is None:
        return Plan(content=_help(available))
    text = str(messages[last_user].get("content") or "")
    results = [m for m in messages[last_user + 1 :] if m.get("role") == "tool"]
    if results:
        answer = _answer(messages[last_user + 1 :])
        # A part of the question whose tool is not on offer is named, not dropped.
        wanted = _intents(text) or _follow_up(text, messages, last_user)
        missing = sorted({name for name, _ in wanted if name not in available})
        if missing:
            answer += "\n\n" + _unavailable(missing, _unavailable_services(messages))
        return Plan(content=answer)
    reply = _social(text, available) or _memory_answer(text, messages, last_user)
    if reply:
        return Plan(content=reply)
    calls = _intents(text)
    if not calls:
        calls = _follow_up(text, messages, last_user)
    if not calls:
        return Plan(content=_help(available))
    missing = sorted({name for name, _ in calls if name not in available})
    calls = [(name, args) for name, args in calls if name in available]
    if missing and not calls:
        return Plan(content=_unavailable(missing, _unavailable_services(messages)))
    return Plan(tool_calls=calls)


# -- understanding the question ------------------------------------------------


def _intents(text: str) -> list[tuple[str, dict[str, Any]]]:
    lower = text.lower()
    calls: list[tuple[str, dict[str, Any]]] = []
    roi = arithmetic.investment(text)
    # An amount, a rate and a number of years are an investment question in any words
    # ("put $1,000 in at 5% for 10 years"), with or without "ROI" or "invest".
    if roi:
        calls.append(("calculate_roi", roi))
    if re.search(r"\bip\b|ip address", lower):
        calls.append(("get_ip", {}))
    if "jira" in lower or KEY.search(text) or re.search(r"\bissues?\b", lower):
        project = _project(text)
        if project:
            calls.append(("jira_metrics", {"project": project}))
    if STOCK_WORDS.search(text):
        calls.extend(("stock_price", {"ticker": t}) for t in _tickers(text))
    if re.search(r"weather|temperature|forecast|raining|sunny", lower):
        calls.extend(("weather", {"city": city}) for city in _cities(text))
    if not roi:
        calls.extend(("calculator", {"expression": e}) for e in arithmetic.expressions(text))
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
        return [("weather", {"city": city}) for city in _cities(text) or _bare_places(text)]
    if name == "jira_metrics":
        project = _project(text) or next(iter(_tickers(text)), None)
        return [("jira_metrics", {"project": project})] if project else []
    if name == "calculate_roi" and FOLLOW_UP.search(text):
        updated = {**args, **arithmetic.investment(text, partial=True)}
        return [("calculate_roi", updated)] if updated != args else []
    if name == "calculator":
        return [("calculator", {"expression": e}) for e in arithmetic.expressions(text)]
    if name == "get_ip" and FOLLOW_UP.search(text):
        return [("get_ip", {})]
    return []


def _previous_calls(messages: list[Message], before: int) -> list[tuple[str, dict[str, Any]]]:
    for message in reversed(messages[:before]):
        if message.get("role") == "assistant" and message.get("tool_calls"):
            return _calls_of(message)
    return []


def _calls_of(message: Message) -> list[tuple[str, dict[str, Any]]]:
    return [
        (call["function"]["name"], parse_result(call["function"].get("arguments")))
        for call in message.get("tool_calls") or []
    ]


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


def _cities(text: str) -> list[str]:
    """The places after 'in' / 'for' / 'at': 'in Tokyo, Paris and New York' is three."""
    text = TIME.sub(" ", text)
    stock = bool(STOCK_WORDS.search(text))
    for match in PLACES.finditer(text):
        cities = _place_list(match.group(1), stock)
        if cities:
            return cities
    return []


def _place_list(phrase: str, stock: bool = False) -> list[str]:
    """The leading run of names in `phrase`, up to the first part that is not a place
    ('London and my IP' is London; 'Paris and TSLA price' is Paris)."""
    cities: list[str] = []
    parts = LIST_SEPARATOR.split(phrase)
    # "Paris, France" / "Portland, Oregon": one city and its region, not two places.
    if len(parts) == 2 and "," in phrase and not re.search(r"\band\b|\bor\b|&", phrase, re.I):
        parts = parts[:1]
    for part in parts:
        name = re.sub(
            r"^(?:(?:also|then)\s+)?(?:(?:in|for|at)\s+)?(?:the\s+)?", "", part.strip(" .'-"), flags=re.I
        )
        words = name.lower().split()
        if not words and not cities:
            continue
        # "in Paris and TSLA" when a price is asked for: the list has ended at a ticker.
        ticker = bool(cities) and stock and name.isupper()
        if not words or len(words) > 4 or NOT_PLACE.intersection(words) or ticker:
            break
        if name.title() not in cities:
            cities.append(name.title())
    return cities


def _bare_places(text: str) -> list[str]:
    """The places named in 'and Tokyo?' / 'what about New York and Paris tomorrow?'."""
    stripped = TIME.sub(" ", FOLLOW_UP.sub("", text)).strip(" ?!.")
    stripped = re.sub(r"^(?:for|in|at)\s+", "", stripped, flags=re.I)
    return _place_list(stripped) if 0 < len(stripped) <= 80 else []


def _social(text: str, available: set[str]) -> str | None:
    """A reply to a message that is only a greeting, thanks or goodbye."""
    kinds = set(re.findall(r"[a-z]+", text.lower().replace("'", ""))) - SOCIAL_FILLER
    if not kinds or not kinds <= GREETING_WORDS | THANKS_WORDS | FAREWELL_WORDS:
        return None
    if kinds & THANKS_WORDS:
        return "You're welcome! Ask me anything else whenever you like."
    if kinds & FAREWELL_WORDS:
        return "Goodbye! Come back any time."
    return "Hello! " + _help(available)


def _memory_answer(text: str, messages: list[Message], last_user: int) -> str | None:
    if not MEMORY.search(text):
        return None
    questions, complete = _questions(messages, last_user)
    for nouns, label, tool, argument in RECALL:
        if re.search(rf"\b(?:which|what)\s+(?:\w+\s+)?(?:{nouns})\b", text, re.I):
            named = _asked_about(messages, last_user, tool, argument)
            scope = "in this conversation" if complete else "in the part of this conversation I remember"
            if not named:
                return f"You have not asked about any {label} {scope}."
            return f"You have asked about these {label} {scope}: {', '.join(named)}."
    first = _summarised_first(messages) or (questions[0] if questions else None)
    ordinal = ORDINAL.search(text)
    if ordinal:
        number = ORDINALS[ordinal.group(1).lower()] if ordinal.group(1) else int(ordinal.group(2))
        name = _ordinal(number)
        if number == 1 and first is not None:
            return f'Your first question was: "{first}"'
        if not questions:
            return "This is your first question in this conversation."
        if not complete:
            return f"Your {name} question is no longer in my memory: I keep the first and the latest ones."
        if number > len(questions):
            count = f"{len(questions)} question" + ("s" if len(questions) > 1 else "")
            return f"You have asked only {count} before this one."
        return f'Your {name} question was: "{questions[number - 1]}"'
    latest = LATEST.search(text)
    if not questions:
        return "You have not asked anything before this in this conversation."
    if latest:
        word = "last" if latest.group(1).lower() in {"last", "latest", "most recent"} else "previous"
        return f'Your {word} question was: "{questions[-1]}"'
    lead = "So far you asked: " if complete else "Of what I still remember, you asked: "
    return lead + "; ".join(f'"{q}"' for q in questions)


def _questions(messages: list[Message], last_user: int) -> tuple[list[str], bool]:
    """The questions before the current one, and whether that is all of them (a long
    conversation's summary keeps only the first and the latest ones)."""
    asked = [str(m.get("content")) for m in messages[:last_user] if m.get("role") == "user"]
    earlier = _summarised_others(messages)
    first = _summarised_first(messages)
    if first is None and not earlier:
        return asked, True
    return [*earlier, *asked], bool(earlier) and earlier[0] == first


def _asked_about(messages: list[Message], last_user: int, tool: str, argument: str) -> list[str]:
    """The `argument`s of `tool` asked for so far: the earlier questions (for those that fell
    out of the window) and the calls made (for follow-ups such as 'and for AAPL?')."""
    summarised = [_summarised_first(messages) or "", *_summarised_others(messages)]
    calls = [call for question in summarised for call in _intents(question)]
    for message in messages[:last_user]:
        if message.get("role") == "user":
            calls += _intents(str(message.get("content") or ""))
        calls += _calls_of(message) if message.get("role") == "assistant" else []
    named: list[str] = []
    for name, args in calls:
        value = str(args.get(argument) or "")
        if name == tool and value and value not in named:
            named.append(value)
    return named


def _ordinal(number: int) -> str:
    words = {value: word for word, value in ORDINALS.items()}
    suffix = "th" if 10 <= number % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(number % 10, "th")
    return words.get(number, f"{number}{suffix}")


def _summarised_others(messages: list[Message]) -> list[str]:
    for message in messages:
        content = str(message.get("content") or "")
        if message.get("role") == "system" and SUMMARY_OTHERS in content:
            line = content.split(SUMMARY_OTHERS, 1)[1].split("\n", 1)[0]
            return [question.strip() for question in line.split("; ") if question.strip()]
    return []


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


def _unavailable(names: list[str], services: dict[str, str]) -> str:
    """The part that cannot be answered, and why: the services the conversation said are
    unavailable (the offline model cannot tell which of them owns a tool it was not given)."""
    tools = ", ".join(f"`{name}`" for name in names)
    why = "; ".join(f"{service}: {reason.rstrip('.')}" for service, reason in sorted(services.items()))
    return f"I could not answer the part that needs {tools}: it is not available right now" + (
        f" ({why})." if why else "."
    )


def _unavailable_services(messages: list[Message]) -> dict[str, str]:
    """The services the system note names as unavailable, with why (`- finance: ...`)."""
    services: dict[str, str] = {}
    for message in messages:
        content = str(message.get("content") or "")
        if message.get("role") != "system" or UNAVAILABLE_NOTE not in content:
            continue
        note = content.split(UNAVAILABLE_NOTE, 1)[1]
        for line in note.splitlines()[1:]:
            if not line.startswith("- "):
                break
            service, _, reason = line[2:].partition(": ")
            services[service] = reason
    return services


def _last_index(messages: list[Message], role: str) -> int | None:
    for index in range(len(messages) - 1, -1, -1):
        if messages[index].get("role") == role:
            return index
    return None
