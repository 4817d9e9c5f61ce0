"""Keep Place.hours_rules true whatever writes the hours (services, the admin, scripts)."""

from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from .models import OpeningHours, Season
from .services import place_hours_rules_refresh


@receiver([post_save, post_delete], sender=OpeningHours)
@receiver([post_save, post_delete], sender=Season)
def place_hours_written(sender, instance, **kwargs):
    # The place object the row holds, when loaded, gets the new copy too.
    cached = sender._meta.get_field("place").is_cached(instance)
    place_hours_rules_refresh(instance.place if cached else instance.place_id)
