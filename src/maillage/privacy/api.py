"""The privacy endpoint of the API: a person downloads their own data with their token."""

from ninja import Router

from maillage.core.api import ERRORS, BearerToken

from . import services
from .views import zip_response

router = Router(tags=["privacy"])
ZIP_SCHEMA = {"type": "string", "format": "binary"}


@router.get(
    "/me/data",
    auth=BearerToken(),
    response={200: None, **ERRORS},
    openapi_extra={
        "responses": {
            200: {
                "content": {"application/zip": {"schema": {"type": "string", "format": "binary"}}}
            }
        }
    },
    summary="Download all my data",
    description=(
        "A zip of everything the instance holds about the token's owner, as the page “My data” "
        "gives it: data.json (every section), one CSV per section, the profile photo and a "
        "README.txt in the owner's language. Includes the records found by the owner's email "
        "address without an account."
    ),
)
def get_my_data(request):
    return zip_response(services.export_person(request.auth))
