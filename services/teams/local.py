"""The orchestrator's own tools, run as activities in its worker: calculator and weather."""

from __future__ import annotations

from pydantic import Field

from services import topology
from services.teams import calculator
from services.tools import SAMPLE_DATA, Tool, ToolInput, ToolResult
from services.tools.sample import fraction, pick

TEAM = topology.ORCHESTRATOR


class CalculatorInput(ToolInput):
    expression: str = Field(
        description="Arithmetic expression, e.g. '125 * 8' or '(2 + 3) ** 2 / 4'.", max_length=200
    )


async def calculate(args: CalculatorInput) -> ToolResult:
    return {"expression": args.expression, "result": calculator.tidy(calculator.evaluate(args.expression))}


class WeatherInput(ToolInput):
    city: str = Field(description="City name, e.g. 'San Francisco'.", min_length=1, max_length=80)


KNOWN_WEATHER = {
    "san francisco": ("Fog clearing to sun", 17, 72, 18),
    "new york": ("Partly cloudy", 22, 60, 14),
    "london": ("Light rain", 14, 82, 20),
    "tokyo": ("Clear", 24, 55, 10),
    "paris": ("Overcast", 16, 70, 12),
}
CONDITIONS = ["Sunny", "Partly cloudy", "Cloudy", "Light rain", "Showers", "Clear", "Windy"]


async def weather(args: WeatherInput) -> ToolResult:
    city = " ".join(args.city.split()).title()
    key = city.lower()
    if key in KNOWN_WEATHER:
        conditions, temp_c, humidity, wind = KNOWN_WEATHER[key]
    else:
        conditions = pick(CONDITIONS, "weather", key)
        temp_c = round(-5 + 35 * fraction("temp", key))
        humidity = round(30 + 60 * fraction("humidity", key))
        wind = round(3 + 30 * fraction("wind", key))
    return {
        "city": city,
        "conditions": conditions,
        "temperature_c": temp_c,
        "temperature_f": round(temp_c * 9 / 5 + 32),
        "humidity_percent": humidity,
        "wind_kmh": wind,
        "source": SAMPLE_DATA,
    }


TOOLS = [
    Tool(
        name="calculator",
        description="Evaluate an arithmetic expression exactly: + - * / // % ** and parentheses.",
        input_model=CalculatorInput,
        implementation=calculate,
        team=TEAM,
        scope="orchestrator:read",
    ),
    Tool(
        name="weather",
        description="Current weather conditions for a city (sample data, not a live forecast).",
        input_model=WeatherInput,
        implementation=weather,
        team=TEAM,
        scope="orchestrator:read",
    ),
]
