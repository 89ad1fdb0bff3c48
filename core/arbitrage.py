"""Cross-exchange arbitrage net of taker fees (the design's formula), free of any I/O."""

from __future__ import annotations

from collections.abc import Callable, Mapping

from core.types import Opportunity, Quote


def evaluate(buy: Quote, sell: Quote, fee_buy: float, fee_sell: float) -> Opportunity:
    """Buy at `buy`'s ask, sell at `sell`'s bid: the opportunity's figures after both fees."""
    cost = buy.ask * (1.0 + fee_buy)
    proceeds = sell.bid * (1.0 - fee_sell)
    size = min(buy.ask_size, sell.bid_size)
    return Opportunity(
        symbol=buy.symbol,
        buy_exchange=buy.exchange,
        sell_exchange=sell.exchange,
        buy_price=buy.ask,
        sell_price=sell.bid,
        size=size,
        gross_pct=100.0 * (sell.bid / buy.ask - 1.0),
        net_pct=100.0 * (proceeds / cost - 1.0),
        net_profit=(proceeds - cost) * size,
    )


def is_fresh(quote: Quote, now_ns: int, max_age_s: float) -> bool:
    """A quote is usable when we received it less than `max_age_s` ago (our clock, not theirs)."""
    return now_ns - quote.ts_received_ns < max_age_s * 1e9


def find_opportunities(
    quotes: Mapping[str, Quote],
    fee_of: Callable[[str], float],
    now_ns: int,
    max_age_s: float = 5.0,
    min_net_pct: float = 0.0,
) -> list[Opportunity]:
    """Every ordered venue pair of one symbol's fresh quotes whose net % reaches `min_net_pct`."""
    fresh = [
        q for q in quotes.values()
        if is_fresh(q, now_ns, max_age_s) and q.ask > 0 and q.bid > 0
    ]
    found: list[Opportunity] = []
    for buy in fresh:
        for sell in fresh:
            if buy.exchange == sell.exchange:
                continue
            opp = evaluate(buy, sell, fee_of(buy.exchange), fee_of(sell.exchange))
            if opp.net_pct >= min_net_pct:
                found.append(opp)
    found.sort(key=lambda o: o.net_pct, reverse=True)
    return found
