"""MEXC's known session for the fuzz suite: book tickers T1 then T2, as JSON text.

MEXC pushes protobuf in binary frames; the adapter's `decode_binary` renders each push as the
JSON below (MEXC's documented field names), which is what `on_message` reads. The answers
(ack, refusal, pong) are JSON text on the wire already.
"""

from __future__ import annotations

from typing import Any

Top = tuple[float, float, float, float]

# Words of the adapter's dispatch, so random frames reach past its first `if`.
WORDS = ["channel", "symbol", "sendTime", "createTime", "publicAggreBookTicker",
         "publicBookTicker", "publicBookTickerBatch", "items", "bidPrice", "bidQuantity",
         "askPrice", "askQuantity", "code", "msg", "PONG"]


def frames(m: str, sym: str, T1: Top, T2: Top) -> tuple[list[Any], Any, Any, Top, list[Any]]:  # noqa: N803
    """(setup, full, change, t2, control) for market native `m` (`sym`: the same spelling)."""
    channel = f"spot@public.aggre.bookTicker.v3.api.pb@10ms@{m}"

    def push(send_ms: int, top: Top) -> dict[str, Any]:
        keys = ("bidPrice", "bidQuantity", "askPrice", "askQuantity")
        return {"channel": channel, "symbol": sym, "sendTime": send_ms,
                "publicAggreBookTicker": {k: f"{v:.8f}" for k, v in zip(keys, top, strict=True)}}

    control: list[Any] = [
        {"id": 1, "code": 0, "msg": channel},
        {"id": 0, "code": 0, "msg": "PONG"},
        {"id": 0, "code": 0, "msg": f"Not Subscribed successfully! [spot@public.bookTicker.v3."
                                    f"api@{m}].  Reason： Blocked! "},
        {"channel": f"spot@public.aggre.deals.v3.api.pb@100ms@{m}", "symbol": sym,
         "sendTime": 1767225600100, "publicAggreDeals": {}},
    ]
    return [], push(1767225600000, T1), push(1767225600010, T2), T2, control


def recognised(text: str, msg: Any) -> bool:
    """The adapter reads pushes (by channel) and answers to its requests (by code)."""
    return type(msg) is dict and ("channel" in msg or "code" in msg)
