"""The public JSON API, /api/v1/ (PRODUCT.md §5). Each app contributes its router."""

from maillage.core.api import MaillageAPI, install_error_handlers
from maillage.places.api import router as places_router

api = MaillageAPI(
    title="Maillage API",
    version="1",
    description="The JSON API of Maillage: the directory of places and the network's services.",
    urls_namespace="api-1",
    docs_url="/docs",
)
install_error_handlers(api)
api.add_router("", places_router)
