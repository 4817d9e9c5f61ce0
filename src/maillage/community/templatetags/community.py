"""Template helpers of the community exchange; permissions are asked of community.permissions."""

from django import template

from .. import permissions, selectors, services

register = template.Library()


@register.simple_tag
def can_moderate(user, post) -> bool:
    return permissions.can_moderate_place(user, services.moderation_place(post))


@register.filter
def display_name(user) -> str:
    return selectors.display_name(user)


@register.filter
def moderation_kind(post) -> str:
    """The name of a post's kind in the report and moderation URLs ("skill", "idea"...)."""
    return services.KIND_OF_MODEL[type(post)]


@register.filter
def post_path(post) -> str:
    return services.post_path(post)
