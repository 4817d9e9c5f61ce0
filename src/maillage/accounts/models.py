from django.conf import settings
from django.contrib.auth.models import AbstractUser, BaseUserManager
from django.db import models
from django.db.models.functions import Upper
from django.utils.translation import gettext_lazy as _

from maillage.core.models import TimeStampedModel


class UserManager(BaseUserManager):
    use_in_migrations = True

    def _create_user(self, email, password, **extra_fields):
        if not email:
            raise ValueError("An email address is required.")
        user = self.model(email=self.normalize_email(email).lower(), **extra_fields)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_user(self, email, password=None, **extra_fields):
        extra_fields.setdefault("is_staff", False)
        extra_fields.setdefault("is_superuser", False)
        return self._create_user(email, password, **extra_fields)

    def create_superuser(self, email, password=None, **extra_fields):
        extra_fields.setdefault("is_staff", True)
        extra_fields.setdefault("is_superuser", True)
        return self._create_user(email, password, **extra_fields)


class User(AbstractUser):
    """A person with an account; the email address is the login."""

    username = None
    first_name = None
    last_name = None
    email = models.EmailField(_("email address"), unique=True)
    full_name = models.CharField(_("full name"), max_length=150, blank=True)
    language = models.CharField(
        _("preferred language"),
        max_length=8,
        choices=settings.LANGUAGES,
        default=settings.LANGUAGE_CODE,
    )

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS: list[str] = []

    objects = UserManager()

    class Meta:
        verbose_name = _("user")
        verbose_name_plural = _("users")
        # Emails are looked up case-insensitively (email__iexact: UPPER(email) = UPPER(%s)) by
        # check-ins, invitations and role forms; the unique index on `email` cannot answer that.
        indexes = [models.Index(Upper("email"), name="user_email_upper")]

    def __str__(self):
        return self.full_name or self.email

    def get_full_name(self):
        return self.full_name or self.email

    def get_short_name(self):
        return self.full_name.split(" ")[0] if self.full_name else self.email


class PlaceRole(TimeStampedModel):
    """What a person is in a place (seed 002): its team (managers, staff) or its community
    (residents on a monthly subscription, nomads with ticket books, occasional visitors)."""

    class Role(models.TextChoices):
        MANAGER = "manager", _("manager")
        STAFF = "staff", _("staff")
        RESIDENT = "resident", _("resident")
        NOMAD = "nomad", _("nomad")
        VISITOR = "visitor", _("visitor")

    # Highest first: a person may give or change only roles up to their own rank.
    RANKS = {Role.MANAGER: 5, Role.STAFF: 4, Role.RESIDENT: 3, Role.NOMAD: 2, Role.VISITOR: 1}
    TEAM = (Role.MANAGER, Role.STAFF)

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="place_roles")
    place = models.ForeignKey("places.Place", on_delete=models.CASCADE, related_name="roles")
    role = models.CharField(_("role"), max_length=16, choices=Role.choices)

    class Meta:
        verbose_name = _("role in a place")
        verbose_name_plural = _("roles in places")
        constraints = [
            models.UniqueConstraint(fields=["user", "place"], name="one_role_per_user_and_place"),
            models.CheckConstraint(
                condition=models.Q(role__in=["manager", "staff", "resident", "nomad", "visitor"]),
                name="place_role_known",
            ),
        ]

    def __str__(self):
        return f"{self.user} · {self.get_role_display()} · {self.place}"


class NetworkRole(TimeStampedModel):
    class Role(models.TextChoices):
        COORDINATOR = "coordinator", _("coordinator")

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="network_roles")
    network = models.ForeignKey("places.Network", on_delete=models.CASCADE, related_name="roles")
    role = models.CharField(_("role"), max_length=16, choices=Role.choices)

    class Meta:
        verbose_name = _("role in a network")
        verbose_name_plural = _("roles in networks")
        constraints = [
            models.UniqueConstraint(
                fields=["user", "network", "role"], name="one_network_role_per_kind"
            ),
        ]

    def __str__(self):
        return f"{self.user} · {self.get_role_display()} · {self.network}"


class ApiToken(TimeStampedModel):
    """A personal API token. Only its SHA-256 is stored: a leaked database leaks no usable token."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(_("name"), max_length=100, blank=True)
    prefix = models.CharField(_("prefix"), max_length=12)
    key_hash = models.CharField(max_length=64, unique=True)
    last_used_at = models.DateTimeField(_("last used"), null=True, blank=True)

    class Meta:
        verbose_name = _("API token")
        verbose_name_plural = _("API tokens")

    def __str__(self):
        return f"{self.prefix}… ({self.user})"
