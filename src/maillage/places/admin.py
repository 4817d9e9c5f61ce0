from django.contrib import admin
from django.db import models

from . import services
from .models import (
    Animator,
    Equipment,
    Network,
    OpeningHours,
    Place,
    PlacePhoto,
    PlaceProposal,
    PlaceRevision,
    PlaceTerm,
    Season,
)


class PlaceTermInline(admin.TabularInline):
    model = PlaceTerm
    extra = 0


class OpeningHoursInline(admin.TabularInline):
    model = OpeningHours
    extra = 0


class SeasonInline(admin.TabularInline):
    model = Season
    extra = 0


class PhotoInline(admin.TabularInline):
    model = PlacePhoto
    extra = 0


class AnimatorInline(admin.TabularInline):
    model = Animator
    extra = 0


class EquipmentInline(admin.TabularInline):
    model = Equipment
    extra = 0


@admin.register(Network)
class NetworkAdmin(admin.ModelAdmin):
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}
    list_display = ["name", "slug", "publishes_statistics"]
    search_fields = ["name", "slug"]
    prepopulated_fields = {"slug": ["name"]}


@admin.register(Place)
class PlaceAdmin(admin.ModelAdmin):
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}
    list_display = ["name", "town", "postcode", "is_published", "source"]
    list_filter = ["is_published", "source", "networks"]
    search_fields = ["name", "town", "postcode", "slug"]
    filter_horizontal = ["networks"]
    readonly_fields = ["source", "source_id"]
    inlines = [
        PlaceTermInline,
        OpeningHoursInline,
        SeasonInline,
        PhotoInline,
        AnimatorInline,
        EquipmentInline,
    ]

    def save_model(self, request, obj, form, change):
        """Admin edits land in the place's history like any other change."""
        services.refresh_search_fields(obj)
        super().save_model(request, obj, form, change)
        changes = {
            name: [
                services.jsonable(form.initial.get(name)),
                services.jsonable(form.cleaned_data.get(name)),
            ]
            for name in form.changed_data
            if name in services.EDITABLE_FIELDS
        }
        if changes or not change:
            services.record_revision(
                place=obj,
                author=request.user,
                source=PlaceRevision.Source.EDIT if change else PlaceRevision.Source.CREATED,
                changes=changes,
            )


@admin.register(PlaceProposal)
class PlaceProposalAdmin(admin.ModelAdmin):
    list_display = ["__str__", "kind", "status", "network", "created_at"]
    list_filter = ["status", "kind", "network"]
    readonly_fields = ["payload", "proposer", "reviewed_by", "reviewed_at"]


@admin.register(PlaceRevision)
class PlaceRevisionAdmin(admin.ModelAdmin):
    list_display = ["place", "source", "author", "created_at"]
    list_filter = ["source"]
    readonly_fields = ["place", "author", "source", "proposal", "changes", "created_at"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
