"""Simulated venues, registered by exchange id; adding a venue is one module plus one line here."""

from __future__ import annotations

from simulator.venues.base import Venue
from simulator.venues.bitstamp import BitstampVenue
from simulator.venues.kraken import KrakenVenue

VENUES: dict[str, type[Venue]] = {
    BitstampVenue.name: BitstampVenue,
    KrakenVenue.name: KrakenVenue,
}

__all__ = ["VENUES", "Venue"]
