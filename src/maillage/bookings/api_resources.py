"""Bookings endpoints of the API (PRODUCT.md §5)."""

from ninja import Router

router = Router(tags=["bookings"])
