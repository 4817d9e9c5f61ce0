"""Maillage: the platform of tiers-lieux and of the networks that link them."""
