"""Live updates at `/ws`: published events fanned out from Redis to websocket clients."""

from web.live.endpoint import MAX_MESSAGE_BYTES, RATE_BURST, RATE_PER_S, get_limits, init_app
from web.live.transport import GOING_AWAY, close_all

__all__ = ["GOING_AWAY", "MAX_MESSAGE_BYTES", "RATE_BURST", "RATE_PER_S", "close_all",
           "get_limits", "init_app"]
