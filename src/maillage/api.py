"""The public JSON API, /api/v1/ (PRODUCT.md §5). Each app contributes its router."""

from maillage.agenda.api import router as agenda_router
from maillage.archives.api import router as archives_router
from maillage.bookings.api import router as bookings_router
from maillage.bookings.api_availability import router as availability_router
from maillage.bookings.api_resources import router as resources_router
from maillage.community.api import router as community_router
from maillage.core.api import MaillageAPI, install_error_handlers
from maillage.impact.api import router as impact_router
from maillage.members.api import router as members_router
from maillage.places.api import router as places_router
from maillage.privacy.api import router as privacy_router

api = MaillageAPI(
    title="Maillage API",
    version="1",
    description="The JSON API of Maillage: the directory of places and the network's services.",
    urls_namespace="api-1",
    docs_url="/docs",
)
install_error_handlers(api)
api.add_router("", places_router)
api.add_router("", availability_router)
api.add_router("", resources_router)
api.add_router("", bookings_router)
api.add_router("", agenda_router)
api.add_router("", members_router)
api.add_router("", community_router)
api.add_router("", impact_router)
api.add_router("", privacy_router)
api.add_router("", archives_router)
