"""Keep Resource.hours_rules true whatever writes a resource's own hours."""

from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from .models import ResourceHours
from .services import resource_hours_rules_refresh


@receiver([post_save, post_delete], sender=ResourceHours)
def resource_hours_written(sender, instance, **kwargs):
    # The resource object the row holds, when loaded, gets the new copy too.
    cached = sender._meta.get_field("resource").is_cached(instance)
    resource_hours_rules_refresh(instance.resource if cached else instance.resource_id)
