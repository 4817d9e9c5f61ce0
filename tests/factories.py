import datetime as dt

import factory

from maillage.accounts.models import NetworkRole, PlaceRole, User
from maillage.places.models import Network, OpeningHours, Place, Season
from maillage.places.services import refresh_search_fields


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"person{n}@example.org")
    full_name = factory.Faker("name", locale="fr_FR")
    password = factory.PostGenerationMethodCall("set_password", "correct horse battery")

    @classmethod
    def _after_postgeneration(cls, instance, create, results=None):
        if create:
            instance.save()


class NetworkFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Network

    slug = factory.Sequence(lambda n: f"network-{n}")
    name = factory.Sequence(lambda n: f"Network {n}")


class PlaceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Place

    slug = factory.Sequence(lambda n: f"place-{n}")
    name = factory.Sequence(lambda n: f"Place {n}")
    town = "Mende"
    postcode = "48000"
    latitude = 44.5181
    longitude = 3.5006

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        place = model_class(*args, **kwargs)
        refresh_search_fields(place)
        place.save()
        return place


class SeasonFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Season

    place = factory.SubFactory(PlaceFactory)
    name = "Winter"
    start_date = dt.date(2026, 12, 1)
    end_date = dt.date(2027, 3, 31)


class OpeningHoursFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = OpeningHours

    place = factory.SubFactory(PlaceFactory)
    weekday = 0
    opens = dt.time(9, 0)
    closes = dt.time(18, 0)


def make_manager(place, **kwargs) -> User:
    user = UserFactory(**kwargs)
    PlaceRole.objects.create(user=user, place=place, role=PlaceRole.Role.MANAGER)
    return user


def make_coordinator(network, **kwargs) -> User:
    user = UserFactory(**kwargs)
    NetworkRole.objects.create(user=user, network=network, role=NetworkRole.Role.COORDINATOR)
    return user
