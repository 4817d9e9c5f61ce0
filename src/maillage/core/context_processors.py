from django.conf import settings


def site(request):
    return {
        "site_name": settings.MAILLAGE_SITE_NAME,
        "tile_url": settings.MAILLAGE_TILE_URL,
        "tile_attribution": settings.MAILLAGE_TILE_ATTRIBUTION,
    }
