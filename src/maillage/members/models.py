"""Members' profiles, the plans a place offers, what each member holds, and presence.

Quantities that must never go below zero (tickets of a book, credits and days of a month) are
changed only by conditional UPDATEs and guarded by check constraints: two check-ins or bookings
racing for the last ticket cannot both have it, on SQLite or PostgreSQL.
"""

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from maillage.core.models import TimeStampedModel


class MemberProfile(TimeStampedModel):
    """What a member tells about themself, and to whom (the member chooses)."""

    class Visibility(models.TextChoices):
        PRIVATE = "private", _("only me and the teams of my places")
        MEMBERS = "members", _("members of my places")
        PUBLIC = "public", _("everyone")

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="profile"
    )
    photo = models.ImageField(_("photo"), upload_to="members/%Y/", blank=True)
    bio = models.TextField(_("about me"), max_length=2000, blank=True)
    links = models.JSONField(_("links"), default=list, blank=True)
    languages = models.JSONField(_("languages I speak"), default=list, blank=True)
    visibility = models.CharField(
        _("who sees my profile"),
        max_length=16,
        choices=Visibility.choices,
        default=Visibility.PRIVATE,
    )
    show_presence = models.BooleanField(
        _("show the members of my places when I am in (who is here now)"), default=False
    )
    # Folded name, bio and skills (core.text.fold), for the member directory's search.
    search_text = models.TextField(default="", editable=False)

    class Meta:
        verbose_name = _("member profile")
        verbose_name_plural = _("member profiles")

    def __str__(self):
        return str(self.user)


class MemberSkill(models.Model):
    """A skill a member offers: a code of the shared vocabulary, or a free tag (code empty)."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="skills"
    )
    code = models.CharField(max_length=40, blank=True)
    label = models.CharField(_("skill"), max_length=60)
    # Folded label (or the code): one row per skill and member whatever its spelling.
    key = models.CharField(max_length=60)

    class Meta:
        verbose_name = _("skill")
        verbose_name_plural = _("skills")
        ordering = ["label"]
        constraints = [
            models.UniqueConstraint(fields=["user", "key"], name="member_skill_once"),
        ]
        indexes = [models.Index(fields=["key", "user"], name="member_skill_lookup")]

    def __str__(self):
        return self.label


class Plan(TimeStampedModel):
    """Something a place offers its members. No payment is processed: the price is recorded with
    each membership for the place's accounting (exports), so that a payment provider can be
    plugged in later without changing what a plan is."""

    class Kind(models.TextChoices):
        SUBSCRIPTION = "subscription", _("monthly subscription")
        TICKET_BOOK = "ticket_book", _("ticket book")
        DAY_PASS = "day_pass", _("day pass")
        FREE = "free", _("free base membership")

    place = models.ForeignKey("places.Place", on_delete=models.CASCADE, related_name="plans")
    name = models.CharField(_("name"), max_length=120)
    description = models.TextField(_("description"), max_length=2000, blank=True)
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices)
    price = models.DecimalField(_("price"), max_digits=9, decimal_places=2, default=0)
    currency = models.CharField(_("currency"), max_length=3, default="EUR")
    credit_hours = models.PositiveIntegerField(
        _("booking credits included each month (hours)"), default=0
    )
    resource_kinds = models.JSONField(
        _("kinds of resources the credits pay for"), default=list, blank=True
    )
    days_per_month = models.PositiveSmallIntegerField(
        _("days of presence included each month (empty: unlimited)"), null=True, blank=True
    )
    tickets = models.PositiveSmallIntegerField(_("day tickets in the book"), null=True, blank=True)
    valid_days = models.PositiveIntegerField(
        _("valid for (days)"),
        null=True,
        blank=True,
        help_text=_("Empty: until ended (subscriptions, free membership)."),
    )
    network_wide = models.BooleanField(_("valid in other places of the network"), default=False)
    valid_places = models.ManyToManyField(
        "places.Place",
        blank=True,
        related_name="+",
        verbose_name=_("only in these places of the network (empty: all of them)"),
    )
    is_active = models.BooleanField(_("offered"), default=True)

    class Meta:
        verbose_name = _("plan")
        verbose_name_plural = _("plans")
        ordering = ["place", "kind", "name"]
        constraints = [
            models.CheckConstraint(
                condition=~Q(kind="ticket_book") | Q(tickets__gt=0), name="plan_book_has_tickets"
            ),
            models.CheckConstraint(condition=Q(price__gte=0), name="plan_price_not_negative"),
            models.CheckConstraint(
                condition=Q(valid_days__isnull=True) | Q(valid_days__gt=0),
                name="plan_validity_positive",
            ),
        ]

    def __str__(self):
        return f"{self.name} ({self.place})"


class Membership(TimeStampedModel):
    """A plan held by a member, from `starts_on` to `ends_on` (inclusive; open when empty).

    A ticket book or a day pass carries its tickets left; a subscription its months
    (MembershipMonth). `price` is the plan's price when it was given: the receipt line.
    """

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships"
    )
    plan = models.ForeignKey(Plan, on_delete=models.PROTECT, related_name="memberships")
    place = models.ForeignKey("places.Place", on_delete=models.CASCADE, related_name="memberships")
    starts_on = models.DateField(_("from"))
    ends_on = models.DateField(_("until"), null=True, blank=True)
    tickets_left = models.PositiveSmallIntegerField(_("tickets left"), null=True, blank=True)
    price = models.DecimalField(_("price"), max_digits=9, decimal_places=2, default=0)
    granted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    ended_at = models.DateTimeField(_("ended"), null=True, blank=True)
    note = models.CharField(_("note"), max_length=300, blank=True)

    class Meta:
        verbose_name = _("membership")
        verbose_name_plural = _("memberships")
        ordering = ["-starts_on", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(ends_on__isnull=True) | Q(ends_on__gte=F("starts_on")),
                name="membership_ends_after_start",
            ),
        ]
        indexes = [
            models.Index(fields=["user", "place"], name="membership_holder"),
            models.Index(fields=["place", "starts_on"], name="membership_place"),
        ]

    def __str__(self):
        return f"{self.plan.name} · {self.user}"


class MembershipMonth(models.Model):
    """What a subscription gives in one calendar month (in the place's time zone) and what was
    used of it. A month's row is created with the plan's allowance the first time it is needed:
    that is the renewal; nothing carries over, so unused credits expire with their month."""

    membership = models.ForeignKey(Membership, on_delete=models.CASCADE, related_name="months")
    month = models.DateField(_("month"))
    credit_minutes = models.PositiveIntegerField(_("credits (minutes)"))
    credit_minutes_used = models.PositiveIntegerField(_("credits used (minutes)"), default=0)
    days = models.PositiveSmallIntegerField(_("days included"), null=True, blank=True)
    days_used = models.PositiveSmallIntegerField(_("days used"), default=0)

    class Meta:
        verbose_name = _("month of a subscription")
        verbose_name_plural = _("months of subscriptions")
        ordering = ["-month"]
        constraints = [
            models.UniqueConstraint(fields=["membership", "month"], name="membership_month_once"),
            models.CheckConstraint(
                condition=Q(credit_minutes_used__lte=F("credit_minutes")),
                name="credits_never_overdrawn",
            ),
            models.CheckConstraint(
                condition=Q(days__isnull=True) | Q(days_used__lte=F("days")),
                name="days_never_overdrawn",
            ),
        ]

    def __str__(self):
        return f"{self.membership} {self.month:%Y-%m}"

    @property
    def credit_minutes_left(self) -> int:
        return self.credit_minutes - self.credit_minutes_used


class CreditUse(models.Model):
    """Credits a booked slot took from a month; given back (refunded_at) when the slot is
    cancelled in time or refused."""

    month = models.ForeignKey(MembershipMonth, on_delete=models.CASCADE, related_name="uses")
    occurrence = models.OneToOneField(
        "bookings.Occurrence", on_delete=models.CASCADE, related_name="credit_use"
    )
    minutes = models.PositiveIntegerField()
    created_at = models.DateTimeField(auto_now_add=True)
    refunded_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("use of credits")
        verbose_name_plural = _("uses of credits")
        constraints = [
            models.CheckConstraint(condition=Q(minutes__gt=0), name="credit_use_positive"),
        ]

    def __str__(self):
        return f"{self.minutes} min · {self.occurrence_id}"


class CheckIn(models.Model):
    """A member's day at a place: one row per member, place and (local) day.

    `consumed` says what paid for it. When the membership comes from another place (a network
    pass), `home_place` is that place: the row is then a line of the network ledger, and
    `unit_value` what one day of the plan is worth, for the places to settle.
    """

    class Consumed(models.TextChoices):
        TEAM = "team", _("team of the place")
        FREE = "free", _("free membership")
        SUBSCRIPTION = "subscription", _("subscription")
        TICKET = "ticket", _("ticket of a book")
        DAY_PASS = "day_pass", _("day pass")

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="checkins"
    )
    place = models.ForeignKey("places.Place", on_delete=models.CASCADE, related_name="checkins")
    day = models.DateField(_("day"))
    checked_in_at = models.DateTimeField(_("arrived at"))
    checked_out_at = models.DateTimeField(_("left at"), null=True, blank=True)
    auto_checked_out = models.BooleanField(_("left at closing time"), default=False)
    consumed = models.CharField(_("paid with"), max_length=16, choices=Consumed.choices)
    membership = models.ForeignKey(
        Membership, on_delete=models.PROTECT, null=True, blank=True, related_name="checkins"
    )
    home_place = models.ForeignKey(
        "places.Place",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("pass from"),
    )
    unit_value = models.DecimalField(
        _("value of the day"), max_digits=9, decimal_places=2, null=True, blank=True
    )
    checked_in_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        verbose_name = _("check-in")
        verbose_name_plural = _("check-ins")
        ordering = ["-checked_in_at"]
        constraints = [
            models.UniqueConstraint(fields=["user", "place", "day"], name="one_checkin_a_day"),
            models.CheckConstraint(
                condition=Q(checked_out_at__isnull=True)
                | Q(checked_out_at__gte=F("checked_in_at")),
                name="checkout_after_checkin",
            ),
        ]
        indexes = [
            models.Index(fields=["place", "day"], name="checkin_place_day"),
            models.Index(
                fields=["place"],
                condition=Q(checked_out_at__isnull=True),
                name="checkin_present",
            ),
            # The ledger asks for a month's lines whose home *or* host place is among many:
            # reading the month's ledger lines is cheaper than one range per place.
            models.Index(
                fields=["day"], condition=Q(home_place__isnull=False), name="checkin_ledger"
            ),
            models.Index(fields=["user", "day"], name="checkin_member"),
        ]

    def __str__(self):
        return f"{self.user} · {self.place} · {self.day}"


class Kiosk(models.Model):
    """The secret address of a place's check-in tablet: the tablet needs no staff session, and
    renewing the token (a new row) disables a lost or stolen tablet at once."""

    place = models.OneToOneField("places.Place", on_delete=models.CASCADE, related_name="kiosk")
    token = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("check-in kiosk")
        verbose_name_plural = _("check-in kiosks")

    def __str__(self):
        return f"kiosk of {self.place}"
