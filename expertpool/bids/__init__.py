"""Bid documents of a lot: uploaded by centre staff or a trading system before the opening,
checked by content, kept encrypted, and read in the room by its members (docs/bids.md)."""
