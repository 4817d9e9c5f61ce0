"""The community exchange next to the places: skills offered and sought, the projects and
opportunities board, mentoring, the give-box and the idea box, with their private replies,
reports, moderation and notifications.

Every post belongs to a place (the board may also post for a whole network): that place's team
moderates it. Moderation hides a post with a reason told to its author; nothing is deleted, so a
wrongly hidden post can be shown again.
"""

from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from maillage.core.models import TimeStampedModel

BODY_MAX = 5000
REPLY_MAX = 4000


class Contribution(TimeStampedModel):
    """What every post shares: who wrote it, where, its words, and its moderation state."""

    author = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="+",
        verbose_name=_("author"),
    )
    place = models.ForeignKey(
        "places.Place",
        on_delete=models.CASCADE,
        related_name="+",
        verbose_name=_("place"),
    )
    title = models.CharField(_("title"), max_length=160)
    # Sanitised HTML (core.html.clean_html), written only through the services.
    body = models.TextField(_("description"), max_length=BODY_MAX, blank=True)
    hidden_at = models.DateTimeField(null=True, blank=True)
    hidden_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    hidden_reason = models.TextField(_("why it was hidden"), max_length=1000, blank=True)

    class Meta:
        abstract = True

    def __str__(self):
        return self.title

    @property
    def is_hidden(self) -> bool:
        return self.hidden_at is not None


class SkillPost(Contribution):
    """ "I can teach soldering" or "I need help with my accounts": a member's offer or request."""

    class Kind(models.TextChoices):
        OFFER = "offer", _("I offer")
        REQUEST = "request", _("I am looking for")

    kind = models.CharField(_("kind"), max_length=8, choices=Kind.choices)
    closed_at = models.DateTimeField(null=True, blank=True)
    # Folded title, words and skills (core.text.fold) for the search of the exchange.
    search_text = models.TextField(default="", editable=False)

    class Meta:
        verbose_name = _("skill offer or request")
        verbose_name_plural = _("skills exchange")
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["place", "-created_at"], name="skillpost_place_recent"),
            models.Index(fields=["kind", "closed_at"], name="skillpost_open_kind"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(kind__in=["offer", "request"]), name="skillpost_kind_known"
            ),
        ]


class SkillPostSkill(models.Model):
    """A skill an offer gives or a request needs: a vocabulary code (members.vocabulary.SKILLS)
    or a free tag; `key` is what matching compares (the code, or the folded tag), as for the
    skills of member profiles (members.MemberSkill.key)."""

    post = models.ForeignKey(SkillPost, on_delete=models.CASCADE, related_name="skills")
    code = models.CharField(max_length=40, blank=True)
    label = models.CharField(_("skill"), max_length=60)
    key = models.CharField(max_length=60)

    class Meta:
        verbose_name = _("skill")
        verbose_name_plural = _("skills")
        ordering = ["label"]
        constraints = [
            models.UniqueConstraint(fields=["post", "key"], name="skillpost_skill_once"),
        ]
        indexes = [models.Index(fields=["key", "post"], name="skillpost_skill_lookup")]

    def __str__(self):
        return self.label


class Thanks(models.Model):
    """The "thank you" that closes an exchange: the author of the post thanks the person who
    helped them or whom they helped. Counted in the place's statistics; no money involved."""

    post = models.ForeignKey(SkillPost, on_delete=models.CASCADE, related_name="thanks")
    giver = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="thanks_given"
    )
    receiver = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="thanks_received"
    )
    place = models.ForeignKey("places.Place", on_delete=models.CASCADE, related_name="+")
    message = models.TextField(_("a word of thanks"), max_length=1000, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        verbose_name = _("thank you")
        verbose_name_plural = _("thanks")
        constraints = [
            models.UniqueConstraint(fields=["post", "receiver"], name="thanks_once_per_person"),
            models.CheckConstraint(condition=~Q(giver=models.F("receiver")), name="thanks_other"),
        ]
        indexes = [models.Index(fields=["place", "created_at"], name="thanks_place_when")]

    def __str__(self):
        return f"{self.giver} → {self.receiver}"


class Opportunity(Contribution):
    """A post of the projects and opportunities board (Cowopy): a project seeking collaborators,
    a call for tenders, a job, an internship, a call for volunteers. Posted at a place, and
    shown on the board of each network of that place when `network_wide`."""

    class Kind(models.TextChoices):
        PROJECT = "project", _("project seeking collaborators")
        TENDER = "tender", _("call for tenders")
        JOB = "job", _("job")
        INTERNSHIP = "internship", _("internship")
        VOLUNTEER = "volunteer", _("call for volunteers")

    kind = models.CharField(_("kind"), max_length=12, choices=Kind.choices)
    network_wide = models.BooleanField(
        _("show it on the boards of the place's networks"), default=True
    )
    # Skills wanted: [{"code": ..., "label": ...}] (code empty for a free tag).
    skills = models.JSONField(_("skills wanted"), default=list, blank=True)
    deadline = models.DateField(_("deadline"), null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    search_text = models.TextField(default="", editable=False)

    class Meta:
        verbose_name = _("opportunity")
        verbose_name_plural = _("projects and opportunities")
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["place", "-created_at"], name="opportunity_place_recent"),
            models.Index(fields=["closed_at", "deadline"], name="opportunity_open"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(kind__in=["project", "tender", "job", "internship", "volunteer"]),
                name="opportunity_kind_known",
            ),
        ]


class Item(Contribution):
    """Something given away or lent through the give-box of a place (where it is picked up)."""

    class Mode(models.TextChoices):
        GIVE = "give", _("to give")
        LEND = "lend", _("to lend")

    class Status(models.TextChoices):
        AVAILABLE = "available", _("available")
        RESERVED = "reserved", _("reserved")
        LENT = "lent", _("lent")
        GONE = "gone", _("gone")

    mode = models.CharField(_("given or lent"), max_length=8, choices=Mode.choices)
    status = models.CharField(
        _("status"), max_length=12, choices=Status.choices, default=Status.AVAILABLE
    )
    photo = models.ImageField(_("photo"), upload_to="givebox/%Y/", blank=True)
    # Whom it is reserved for or lent to.
    holder = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("reserved for or lent to"),
    )
    return_on = models.DateField(_("to be returned on"), null=True, blank=True)
    # The day the return reminder went out, so that the daily job sends it once.
    reminded_on = models.DateField(null=True, blank=True)
    gone_at = models.DateTimeField(null=True, blank=True)
    # Folded title and words (core.text.fold) for the search of the give-box.
    search_text = models.TextField(default="", editable=False)

    class Meta:
        verbose_name = _("give-box item")
        verbose_name_plural = _("give-box")
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["place", "status", "-created_at"], name="item_place_status"),
            models.Index(fields=["return_on"], condition=Q(status="lent"), name="item_lent_return"),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(mode__in=["give", "lend"]), name="item_mode_known"),
            models.CheckConstraint(
                condition=Q(status__in=["available", "reserved", "lent", "gone"]),
                name="item_status_known",
            ),
            models.CheckConstraint(
                condition=~Q(status="lent") | Q(mode="lend", return_on__isnull=False),
                name="item_lent_has_return_date",
            ),
        ]


class Reply(models.Model):
    """A private message to the author of a skill post, an opportunity or a give-box item: only
    its sender and that author read it (never the place's team, never other members)."""

    skill_post = models.ForeignKey(
        SkillPost, on_delete=models.CASCADE, null=True, blank=True, related_name="replies"
    )
    opportunity = models.ForeignKey(
        Opportunity, on_delete=models.CASCADE, null=True, blank=True, related_name="replies"
    )
    item = models.ForeignKey(
        Item, on_delete=models.CASCADE, null=True, blank=True, related_name="replies"
    )
    sender = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="community_replies"
    )
    body = models.TextField(_("message"), max_length=REPLY_MAX)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("private reply")
        verbose_name_plural = _("private replies")
        ordering = ["created_at", "id"]
        constraints = [
            models.CheckConstraint(
                condition=(
                    Q(skill_post__isnull=False, opportunity__isnull=True, item__isnull=True)
                    | Q(skill_post__isnull=True, opportunity__isnull=False, item__isnull=True)
                    | Q(skill_post__isnull=True, opportunity__isnull=True, item__isnull=False)
                ),
                name="reply_one_target",
            ),
        ]

    def __str__(self):
        return self.body[:60]

    @property
    def target(self):
        return self.skill_post or self.opportunity or self.item


class Idea(Contribution):
    """An idea for a place, from anyone with an account; its members vote, its manager answers."""

    class Status(models.TextChoices):
        NEW = "new", _("new")
        PLANNED = "planned", _("planned")
        DONE = "done", _("done")
        DECLINED = "declined", _("declined")

    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default="new")
    answer = models.TextField(_("the team's answer"), max_length=BODY_MAX, blank=True)
    answered_at = models.DateTimeField(null=True, blank=True)
    answered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    # Kept equal to the number of IdeaVote rows by the services (conditional updates), so that
    # the box sorts by votes without counting them on every page.
    votes = models.PositiveIntegerField(default=0)

    class Meta:
        verbose_name = _("idea")
        verbose_name_plural = _("idea box")
        ordering = ["-votes", "-created_at", "-id"]
        indexes = [models.Index(fields=["place", "status", "-votes"], name="idea_place_votes")]
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=["new", "planned", "done", "declined"]),
                name="idea_status_known",
            ),
        ]


class IdeaVote(models.Model):
    idea = models.ForeignKey(Idea, on_delete=models.CASCADE, related_name="vote_rows")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["idea", "user"], name="idea_vote_once"),
        ]

    def __str__(self):
        return f"{self.user_id} → {self.idea_id}"


class Mentor(TimeStampedModel):
    """A volunteer who answers young people's and newcomers' questions in their fields."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="mentor"
    )
    # Codes of members.vocabulary.SKILLS and of community.vocabulary.MENTORING_FIELDS.
    fields = models.JSONField(_("fields I can talk about"), default=list)
    about = models.TextField(_("what I can share"), max_length=2000, blank=True)
    is_active = models.BooleanField(_("I am available as a mentor"), default=True)

    class Meta:
        verbose_name = _("mentor")
        verbose_name_plural = _("mentors")

    def __str__(self):
        return str(self.user)


class MentoringRequest(TimeStampedModel):
    """A question about a trade or an orientation, from someone with an account or not.

    Without an account the address is confirmed by the link of the first email; a minor's
    request needs the guardian's consent (ticked by the asker) confirmed by the place's team
    before any mentor sees it. The place's team moderates and connects asker and mentor.
    """

    class AgeGroup(models.TextChoices):
        UNDER_15 = "under_15", _("under 15")
        FROM_15_TO_17 = "15_17", _("15 to 17")
        FROM_18_TO_25 = "18_25", _("18 to 25")
        OVER_25 = "over_25", _("over 25")

    MINORS = (AgeGroup.UNDER_15, AgeGroup.FROM_15_TO_17)

    class Topic(models.TextChoices):
        TRADE = "trade", _("a trade")
        ORIENTATION = "orientation", _("orientation, studies, training")
        BUSINESS = "business", _("starting an activity")

    class Status(models.TextChoices):
        UNCONFIRMED = "unconfirmed", _("email address not confirmed yet")
        AWAITING_CONSENT = "awaiting_consent", _("waiting for the team to confirm consent")
        OPEN = "open", _("open to mentors")
        CONNECTED = "connected", _("put in touch with a mentor")
        CLOSED = "closed", _("closed")

    place = models.ForeignKey(
        "places.Place", on_delete=models.CASCADE, related_name="+", verbose_name=_("place")
    )
    asker = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="mentoring_requests",
    )
    name = models.CharField(_("first name"), max_length=120)
    email = models.EmailField(_("email"))
    language = models.CharField(max_length=8, default=settings.LANGUAGE_CODE)
    age_group = models.CharField(_("age"), max_length=10, choices=AgeGroup.choices)
    guardian_consent = models.BooleanField(
        _("my parent or guardian agrees that I ask this question"), default=False
    )
    consent_confirmed_at = models.DateTimeField(null=True, blank=True)
    consent_confirmed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    topic = models.CharField(_("my question is about"), max_length=12, choices=Topic.choices)
    fields = models.JSONField(_("fields"), default=list, blank=True)
    question = models.TextField(_("my question"), max_length=BODY_MAX)
    status = models.CharField(
        _("status"), max_length=20, choices=Status.choices, default=Status.UNCONFIRMED
    )
    email_confirmed_at = models.DateTimeField(null=True, blank=True)
    mentor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="mentees",
        verbose_name=_("mentor"),
    )
    connected_at = models.DateTimeField(null=True, blank=True)
    hidden_at = models.DateTimeField(null=True, blank=True)
    hidden_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    hidden_reason = models.TextField(_("why it was hidden"), max_length=1000, blank=True)

    class Meta:
        verbose_name = _("mentoring request")
        verbose_name_plural = _("mentoring requests")
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["place", "status"], name="mentoring_place_status")]
        constraints = [
            models.CheckConstraint(
                condition=~Q(age_group__in=["under_15", "15_17"]) | Q(guardian_consent=True),
                name="mentoring_minor_has_consent",
            ),
            models.CheckConstraint(
                condition=~Q(status__in=["open", "connected"])
                | ~Q(age_group__in=["under_15", "15_17"])
                | Q(consent_confirmed_at__isnull=False),
                name="mentoring_minor_confirmed_before_open",
            ),
        ]

    def __str__(self):
        return self.question[:60]

    @property
    def title(self) -> str:
        return str(self)

    @property
    def is_minor(self) -> bool:
        return self.age_group in self.MINORS

    @property
    def is_hidden(self) -> bool:
        return self.hidden_at is not None


class MentoringAnswer(models.Model):
    """A mentor's answer: emailed to the asker, read by them and by the place's team."""

    request = models.ForeignKey(MentoringRequest, on_delete=models.CASCADE, related_name="answers")
    mentor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="mentoring_answers"
    )
    body = models.TextField(_("answer"), max_length=BODY_MAX)
    created_at = models.DateTimeField(auto_now_add=True)
    hidden_at = models.DateTimeField(null=True, blank=True)
    hidden_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    hidden_reason = models.TextField(_("why it was hidden"), max_length=1000, blank=True)

    class Meta:
        verbose_name = _("mentor's answer")
        verbose_name_plural = _("mentors' answers")
        ordering = ["created_at", "id"]

    def __str__(self):
        return self.body[:60]

    @property
    def is_hidden(self) -> bool:
        return self.hidden_at is not None


class Report(TimeStampedModel):
    """Someone tells the place's team that a post breaks the rules."""

    class Reason(models.TextChoices):
        SPAM = "spam", _("spam or advertising")
        OFFENSIVE = "offensive", _("offensive or hateful")
        PERSONAL = "personal", _("reveals someone's personal data")
        UNSAFE = "unsafe", _("unsafe for a young person")
        OTHER = "other", _("something else")

    class Outcome(models.TextChoices):
        HIDDEN = "hidden", _("hidden")
        KEPT = "kept", _("kept")

    content_type = models.ForeignKey(ContentType, on_delete=models.CASCADE, related_name="+")
    object_id = models.PositiveBigIntegerField()
    # The place whose team moderates the reported post (its queue).
    place = models.ForeignKey("places.Place", on_delete=models.CASCADE, related_name="+")
    reporter = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+"
    )
    reason = models.CharField(_("reason"), max_length=12, choices=Reason.choices)
    comment = models.TextField(_("details"), max_length=1000, blank=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    outcome = models.CharField(max_length=8, choices=Outcome.choices, blank=True)

    class Meta:
        verbose_name = _("report")
        verbose_name_plural = _("reports")
        ordering = ["created_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["content_type", "object_id", "reporter"], name="report_once_per_person"
            ),
        ]
        indexes = [
            models.Index(
                fields=["place", "created_at"],
                condition=Q(resolved_at__isnull=True),
                name="report_open_queue",
            ),
        ]


class NotificationSettings(models.Model):
    """How often a person hears about the exchange's news (replies, matches, requests in their
    fields, answers to their ideas). Messages about their own safety or obligations (a post
    hidden, a mentor's answer, a return date) are always sent at once."""

    class Frequency(models.TextChoices):
        IMMEDIATE = "immediate", _("at once, one email per news")
        DAILY = "daily", _("a daily digest")
        WEEKLY = "weekly", _("a weekly digest")
        NEVER = "never", _("never (I look on the site)")

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="community_settings"
    )
    frequency = models.CharField(
        _("emails about the community exchange"),
        max_length=10,
        choices=Frequency.choices,
        default=Frequency.IMMEDIATE,
    )
    notify_matches = models.BooleanField(
        _("tell me about new offers and requests that match my skills"), default=True
    )
    last_digest_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("notification settings")
        verbose_name_plural = _("notification settings")

    def __str__(self):
        return f"{self.user} · {self.frequency}"


class Notification(models.Model):
    """One piece of news for one person, written in their language when it happens; emailed at
    once or gathered into their digest (`sent_at` empty until then), and listed on the site."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="community_notifications"
    )
    subject = models.CharField(max_length=200)
    body = models.TextField(max_length=4000)
    url = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    read_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["user", "-created_at"], name="notification_user_recent"),
            models.Index(
                fields=["user", "created_at"],
                condition=Q(sent_at__isnull=True),
                name="notification_unsent",
            ),
        ]

    def __str__(self):
        return self.subject
