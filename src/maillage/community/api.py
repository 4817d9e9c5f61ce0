"""The community exchange's API: one router per part, gathered under /api/v1/community/."""

from ninja import Router

from . import api_board, api_exchange, api_givebox, api_ideas, api_mentoring, api_moderation

router = Router(tags=["community"])
router.add_router("", api_exchange.router)
router.add_router("", api_board.router)
router.add_router("", api_mentoring.router)
router.add_router("", api_givebox.router)
router.add_router("", api_ideas.router)
router.add_router("", api_moderation.router)
