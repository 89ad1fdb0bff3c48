"""Cross-exchange arbitrage net of taker fees: top of book, book walking and sizes. No I/O.

For one symbol, every ordered pair of venues (buy at A's ask, sell at B's bid) is screened with the
design's formula on top of book; the pairs that pass are sized by walking both books (the top N
levels a book venue's adapter keeps, or the single top level of a ticker venue):

- the largest size whose every unit still profits after both fees, and the profit at that size;
- the net % and profit of spending a configured notional (VWAP over the levels it takes);
- optionally a transfer-aware profit: less the withdrawal fee of moving the bought coins.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

from core.fees import transfer_net_profit
from core.types import Depth, Level, Opportunity, Quote

FeeOf = Callable[[str], float]
WithdrawalOf = Callable[[str, str], "float | None"]


@dataclass(frozen=True, slots=True)
class Rules:
    """What counts as an opportunity: fees, freshness, thresholds and size filters."""

    fee_of: FeeOf
    max_age_s: float = 5.0
    min_net_pct: float = 0.0
    notional: float = 1000.0  # quote currency spent on the buy leg, before its fee
    min_size: float = 0.0  # base units
    min_notional: float = 0.0  # quote currency, at the buy price
    withdrawal_of: WithdrawalOf | None = None  # (exchange, asset) → fee in asset units
    # Fees looked up once per venue: the screen runs for every symbol of every pass.
    _fees: dict[str, float] = field(default_factory=dict, compare=False, repr=False)

    def fee(self, exchange: str) -> float:
        """The taker fee of `exchange` (memoized; rules are rebuilt when settings change)."""
        fee = self._fees.get(exchange)
        if fee is None:
            fee = self._fees[exchange] = self.fee_of(exchange)
        return fee


@dataclass(frozen=True, slots=True)
class Walk:
    """Result of walking asks against bids while each unit still profits after fees."""

    size: float
    cost: float  # paid, buy fee included
    proceeds: float  # received, sell fee deducted

    @property
    def profit(self) -> float:
        return self.proceeds - self.cost


def is_fresh(quote: Quote, now_ns: int, max_age_s: float) -> bool:
    """A quote is usable when we received it less than `max_age_s` ago (our clock, not theirs)."""
    return now_ns - quote.ts_received_ns < max_age_s * 1e9


def is_sane(quote: Quote) -> bool:
    """Positive prices and a book that is not crossed: a crossed quote is bad data, not a deal."""
    return 0.0 < quote.bid <= quote.ask


def walk_profitable(
    asks: Iterable[Level], bids: Iterable[Level], fee_buy: float, fee_sell: float
) -> Walk:
    """Take the cheapest asks against the richest bids while the marginal unit nets a profit."""
    buy_mult, sell_mult = 1.0 + fee_buy, 1.0 - fee_sell
    ask_iter, bid_iter = iter(asks), iter(bids)
    size = cost = proceeds = 0.0
    try:
        ask_price, ask_left = next(ask_iter)
        bid_price, bid_left = next(bid_iter)
        while True:
            unit_cost, unit_proceeds = ask_price * buy_mult, bid_price * sell_mult
            if unit_proceeds <= unit_cost:
                break
            qty = ask_left if ask_left < bid_left else bid_left
            if qty > 0.0:
                size += qty
                cost += qty * unit_cost
                proceeds += qty * unit_proceeds
            ask_left -= qty
            bid_left -= qty
            if ask_left <= 0.0:
                ask_price, ask_left = next(ask_iter)
            if bid_left <= 0.0:
                bid_price, bid_left = next(bid_iter)
    except StopIteration:
        pass  # one book ran out: the walk ends at its depth
    return Walk(size, cost, proceeds)


def fill_notional(
    asks: Iterable[Level], bids: Iterable[Level], fee_buy: float, fee_sell: float,
    notional: float,
) -> tuple[float, float] | None:
    """(net %, profit) of buying `notional` worth on the asks and selling it all on the bids.

    None when either book is too thin to fill the whole notional (a partial figure would flatter).
    """
    if notional <= 0.0:
        return None
    to_spend, bought = notional, 0.0
    for price, size in asks:
        value = price * size
        if value >= to_spend:
            bought += to_spend / price
            to_spend = 0.0
            break
        bought += size
        to_spend -= value
    if to_spend > 0.0:
        return None
    to_sell, received = bought, 0.0
    for price, size in bids:
        if size >= to_sell:
            received += to_sell * price
            to_sell = 0.0
            break
        received += size * price
        to_sell -= size
    if to_sell > 1e-12 * bought:
        return None
    cost = notional * (1.0 + fee_buy)
    proceeds = received * (1.0 - fee_sell)
    return 100.0 * (proceeds / cost - 1.0), proceeds - cost


def side_levels(price: float, size: float, book_side: tuple[Level, ...] | None) -> list[Level]:
    """A side's levels: the book when its best price is the quote's, else the top level only.

    The quote's size replaces the book's first level (the quote is what the venue said last
    about the top); a book whose best price differs from the quote is out of step and unused.
    """
    if book_side and book_side[0][0] == price:
        return [(price, size), *book_side[1:]]
    return [(price, size)]


def evaluate(
    buy: Quote,
    sell: Quote,
    fee_buy: float,
    fee_sell: float,
    buy_book: Depth | None = None,
    sell_book: Depth | None = None,
    notional: float = 0.0,
    withdrawal_fee: float | None = None,
) -> Opportunity:
    """Buy at `buy`'s ask, sell at `sell`'s bid: the opportunity's figures after both fees."""
    cost = buy.ask * (1.0 + fee_buy)
    proceeds = sell.bid * (1.0 - fee_sell)
    net_pct = 100.0 * (proceeds / cost - 1.0)
    asks = side_levels(buy.ask, buy.ask_size, buy_book.asks if buy_book else None)
    bids = side_levels(sell.bid, sell.bid_size, sell_book.bids if sell_book else None)
    walked = len(asks) > 1 or len(bids) > 1
    if proceeds > cost:
        walk = walk_profitable(asks, bids, fee_buy, fee_sell)
        size, net_profit = walk.size, walk.profit
    else:  # nothing profits: report the top-of-book figure (a negative profit) for its size
        size = min(buy.ask_size, sell.bid_size)
        net_profit = (proceeds - cost) * size
    filled = fill_notional(asks, bids, fee_buy, fee_sell, notional)
    transfer = transfer_net_profit(net_profit, withdrawal_fee, sell.bid)
    return Opportunity(
        symbol=buy.symbol,
        buy_exchange=buy.exchange,
        sell_exchange=sell.exchange,
        buy_price=buy.ask,
        sell_price=sell.bid,
        size=size,
        gross_pct=100.0 * (sell.bid / buy.ask - 1.0),
        net_pct=net_pct,
        net_profit=net_profit,
        fee_buy=fee_buy,
        fee_sell=fee_sell,
        walked=walked,
        notional=notional,
        notional_net_pct=None if filled is None else filled[0],
        notional_profit=None if filled is None else filled[1],
        withdrawal_fee=withdrawal_fee,
        transfer_net_profit=transfer,
        event_ns=max(buy.ts_received_ns, sell.ts_received_ns),
    )


def passes_filters(opp: Opportunity, rules: Rules) -> bool:
    """Net % threshold, a real size, and the configured minimum size and notional."""
    return (
        opp.net_pct >= rules.min_net_pct
        and opp.size > 0.0
        and opp.size >= rules.min_size
        and opp.size * opp.buy_price >= rules.min_notional
    )


def find_opportunities(
    quotes: Mapping[str, Quote],
    rules: Rules,
    now_ns: int,
    books: Mapping[str, Depth] | None = None,
) -> list[Opportunity]:
    """Every ordered venue pair of one symbol's fresh quotes that passes `rules`, best first."""
    max_age_ns = rules.max_age_s * 1e9
    fresh = [  # is_fresh and is_sane, inlined: this runs for every symbol of every pass
        q for q in quotes.values()
        if now_ns - q.ts_received_ns < max_age_ns and 0.0 < q.bid <= q.ask
    ]
    if len(fresh) < 2:
        return []
    fee = rules.fee
    # Screen on the net rate alone (cheap), then size only the pairs that pass.
    threshold = 1.0 + rules.min_net_pct / 100.0
    costs = [(q.ask * (1.0 + fee(q.exchange)), q) for q in fresh]
    takes = [(q.bid * (1.0 - fee(q.exchange)), q) for q in fresh]
    best_take = max(take for take, _ in takes)
    if best_take < min(cost for cost, _ in costs) * threshold:
        return []  # the usual case: no venue's bid beats another's ask after fees
    books = books or {}
    found: list[Opportunity] = []
    for cost, buy in costs:
        bar = cost * threshold
        if best_take < bar:
            continue
        for proceeds, sell in takes:
            if proceeds < bar or buy.exchange == sell.exchange:
                continue
            withdrawal = None
            if rules.withdrawal_of is not None:
                withdrawal = rules.withdrawal_of(buy.exchange, buy.symbol.split("-", 1)[0])
            opp = evaluate(
                buy, sell, fee(buy.exchange), fee(sell.exchange),
                books.get(buy.exchange), books.get(sell.exchange), rules.notional, withdrawal,
            )
            if passes_filters(opp, rules):
                found.append(opp)
    found.sort(key=lambda o: o.net_pct, reverse=True)
    return found
