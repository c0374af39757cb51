"""Finance's tools: stock quotes and compound-growth ROI."""

from __future__ import annotations

import re

from pydantic import Field, field_validator

from services import topology
from services.tools import SAMPLE_DATA, Tool, ToolInput, ToolResult
from services.tools.sample import fraction

TEAM = topology.FINANCE.name

TICKER = re.compile(r"^[A-Z]{1,5}([.-][A-Z]{1,2})?$")
# Plausible reference prices so the sample quotes look like the real companies.
REFERENCE_PRICES = {
    "TSLA": 248.50,
    "AAPL": 227.30,
    "MSFT": 431.20,
    "GOOGL": 176.80,
    "AMZN": 198.40,
    "NVDA": 132.60,
    "META": 578.90,
}


class StockInput(ToolInput):
    ticker: str = Field(description="Stock ticker symbol, e.g. 'TSLA' or 'BRK.B'.")

    @field_validator("ticker")
    @classmethod
    def _ticker(cls, value: str) -> str:
        symbol = value.strip().upper().lstrip("$")
        if not TICKER.match(symbol):
            raise ValueError(f"'{value}' is not a ticker symbol (1-5 letters, e.g. 'TSLA')")
        return symbol


async def stock_price(args: StockInput) -> ToolResult:
    base = REFERENCE_PRICES.get(args.ticker, 5 + 495 * fraction("price", args.ticker))
    change_percent = round(-3 + 6 * fraction("change", args.ticker), 2)
    price = round(base * (1 + change_percent / 100), 2)
    return {
        "ticker": args.ticker,
        "price": price,
        "currency": "USD",
        "change_percent": change_percent,
        "source": SAMPLE_DATA,
    }


class RoiInput(ToolInput):
    principal: float = Field(description="Amount invested, e.g. 10000.", gt=0, le=1e12)
    annual_rate_percent: float = Field(
        description="Yearly return in percent, e.g. 5 for 5%.", gt=-100, le=1000
    )
    years: float = Field(description="Number of years, e.g. 10.", gt=0, le=100)


async def calculate_roi(args: RoiInput) -> ToolResult:
    final = args.principal * (1 + args.annual_rate_percent / 100) ** args.years
    gain = final - args.principal
    return {
        "principal": round(args.principal, 2),
        "annual_rate_percent": args.annual_rate_percent,
        "years": args.years,
        "final_value": round(final, 2),
        "gain": round(gain, 2),
        "roi_percent": round(100 * gain / args.principal, 2),
        "compounding": "annual",
    }


TOOLS = [
    Tool(
        name="stock_price",
        description="Latest quote for a stock ticker (sample data, not a live market quote).",
        input_model=StockInput,
        implementation=stock_price,
        team=TEAM,
        scope="finance:read",
    ),
    Tool(
        name="calculate_roi",
        description="Compound annual growth of an investment: final value, gain and ROI percent.",
        input_model=RoiInput,
        implementation=calculate_roi,
        team=TEAM,
        scope="finance:read",
    ),
]
