"""Who gets what, for every URL pattern of the project: the one table of expected outcomes.

Read by tests/security/test_permission_matrix.py, which requests every entry as every role and
fails when a URL pattern of the project has no entry here (or an entry names a pattern that no
longer exists): a new URL cannot ship without someone deciding who may open it.

Keys are URL names (namespaced: "places:edit", "api-1:update_place") or, for a pattern without a
name, its full route. Admin routes are covered by one prefix rule, `PREFIX_RULES["admin/"]`
(an entry of MATRIX, like "admin:login", takes precedence over it). `UNPUBLISHED` repeats some
entries once place A is unpublished.

Each entry gives the request and the expected outcome per role:
- `url` is formatted with the objects of the test world (`World` in test_permission_matrix.py):
  {place} = place A's slug, {place_pk} its id, {season} = a season of A, {place_role} = the id of
  the PlaceRole of A's member, {proposal} = a pending proposal (a correction of A, so of network
  N), {media} = a file under MEDIA_ROOT. The "place B" checks format the same templates with B's
  objects.
- `method` is the method requested; `also` the other methods the view accepts, requested too
  (with `data`) so that a refusal is checked on writes as well as on reads.
- outcomes: an HTTP status; `LOGIN` (302 to the login page with ?next=); `ADMIN_LOGIN` (302 to
  the admin's login page with ?next=); `ALLOWED` (anything but a refusal: for writes whose
  business result — saved, invalid, redirected — is not what this table is about);
  `Redirect(path)` (a 302 elsewhere than a login page).

The roles: anonymous; member_a, staff_a, manager_a (a PlaceRole in place A); manager_b (manager of
place B); coordinator (coordinator of network N, which holds A; B is only in network M, which they
do not coordinate); superuser (only declared for the admin, as its positive control).

The rules (docs/architecture.md, "Who does what"):
- public pages and reads: 200 for everyone;
- pages that need an account: anonymous → LOGIN (pages) / 401 (API);
- managing a place: its managers and the coordinators of its networks; anybody else → 404, never
  403, so that nobody learns which places exist or who manages them. The API answers 403 only to
  people who have a role in that place (they know it exists) but not one that lets them edit;
- moderation: coordinators (a proposal only if it belongs to their networks), others 404;
- the admin: superusers only, every other role → ADMIN_LOGIN.
"""

from dataclasses import dataclass, field

ROLES = ("anonymous", "member_a", "staff_a", "manager_a", "manager_b", "coordinator")
LOGIN = "login"
ADMIN_LOGIN = "admin-login"
ALLOWED = "allowed"


@dataclass(frozen=True)
class Redirect:
    """A 302 to this path (formatted like the URLs), which is not a login page."""

    to: str


@dataclass(frozen=True)
class Entry:
    url: str
    expect: dict[str, object]
    method: str = "GET"
    also: tuple[str, ...] = ()
    data: dict = field(default_factory=dict)


def everyone(outcome) -> dict[str, object]:
    return dict.fromkeys(ROLES, outcome)


PUBLIC = everyone(200)
# A page for any signed-in person.
SIGNED_IN = {**everyone(200), "anonymous": LOGIN}
# Managing place A: its manager and the coordinator of its network; anyone else sees no such page.
MANAGE = {
    "anonymous": LOGIN,
    "member_a": 404,
    "staff_a": 404,
    "manager_a": 200,
    "manager_b": 404,
    "coordinator": 200,
}
# The same, for a write whose success is a redirect or a re-rendered form.
MANAGE_WRITE = {**MANAGE, "manager_a": ALLOWED, "coordinator": ALLOWED}
# Moderation: coordinators only.
MODERATE = {**everyone(404), "anonymous": LOGIN, "coordinator": 200}
# API writes on place A: no token → 401; no role in A → 404 (as if A did not exist); a role in A
# that does not allow editing → 403 (they know A exists, the refusal tells them nothing new).
API_MANAGE = {
    "anonymous": 401,
    "member_a": 403,
    "staff_a": 403,
    "manager_a": 200,
    "manager_b": 404,
    "coordinator": 200,
}
# Running A's events: its managers and staff (the place's team), and N's coordinator.
EVENTS_MANAGE = {**MANAGE, "staff_a": 200}
# The team of place A (its managers and staff) and N's coordinator: members, plans (read),
# giving plans, memberships, attendance, exports.
MEMBERS_TEAM = {**MANAGE, "staff_a": 200}
# The people of place A: those with a role in it and N's coordinator.
MEMBERS_PEOPLE = {**MEMBERS_TEAM, "member_a": 200}
# Network N's own events: its coordinators.
COORDINATE = {**everyone(404), "anonymous": LOGIN, "coordinator": 200}
# The API's writes on A's events: as API_MANAGE, staff included.
API_EVENTS_MANAGE = {**API_MANAGE, "staff_a": 200}
# member_a's booking in place A: its booker and the place's staff (managers, staff,
# coordinators); anybody else is answered as if it did not exist.
PLACE_STAFF_OR_BOOKER = {
    "anonymous": LOGIN,
    "member_a": ALLOWED,
    "staff_a": ALLOWED,
    "manager_a": ALLOWED,
    "manager_b": 404,
    "coordinator": ALLOWED,
}
OWNER_ONLY_PAGE = {**everyone(404), "anonymous": LOGIN, "member_a": ALLOWED}
API_STAFF_OR_BOOKER = {**everyone(200), "anonymous": 401, "manager_b": 404}
API_STAFF_OR_BOOKER_DELETE = {**everyone(204), "anonymous": 401, "manager_b": 404}
# API writes anyone with a token may attempt; what they may book is the body's business.
API_SIGNED_IN_WRITE = {**everyone(ALLOWED), "anonymous": 401}
# Pages meant for visitors who are not signed in: signed-in people are sent home.
SIGNED_OUT = {**everyone(Redirect("/")), "anonymous": 200}
# allauth's two-factor pages about an authenticator the roles do not have.
NO_AUTHENTICATOR = {**everyone(404), "anonymous": LOGIN}
# Where allauth sends a session without a recent password confirmation, back to /accounts/2fa/….
REAUTHENTICATE = "/accounts/reauthenticate/?next=%2Faccounts%2F2fa%2F{}%2F"


# The community exchange's requests (the board's and mentoring's entries).
_BOARD_NEW_POST = {
    "place": "{place}",
    "kind": "project",
    "title": "Un projet de la matrice",
    "body": "<p>Pour voir qui peut le poster.</p>",
}
_BOARD_CHANGED_POST = {"kind": "project", "title": "Titre changé", "body": "<p>Texte changé.</p>"}
_BOARD_AUTHOR_PAGE = {**everyone(404), "anonymous": LOGIN, "member_a": 200}
_BOARD_AUTHOR_WRITE = {**everyone(404), "anonymous": LOGIN, "member_a": ALLOWED}
_BOARD_AUTHOR_API = {**everyone(404), "anonymous": 401, "member_a": 200}

_BOARD_A_PEOPLE = {**everyone(200), "anonymous": 404, "manager_b": 404}
_MENTORING_QUESTION = {
    "place": "{place}",
    "name": "Justine",
    "email": "justine@example.org",
    "age_group": "18_25",
    "topic": "business",
    "fields": ["entrepreneurship"],
    "question": "Comment crée-t-on son entreprise ?",
}

MATRIX: dict[str, Entry] = {
    # ---- Directory pages (maillage.places.urls and the home page) ----
    # The home page: public.
    "home": Entry("/", PUBLIC),
    # The directory list: public.
    "places:directory": Entry("/places/", PUBLIC),
    # The map: public.
    "places:map": Entry("/places/map/", PUBLIC),
    # Proposing a place: open to everyone, signed in or not (anti-spam, rate limit).
    "places:propose": Entry("/places/propose/", PUBLIC),
    # The moderation queue: coordinators only; anyone else is told there is no such page.
    "places:moderation": Entry("/places/moderation/", MODERATE),
    # A proposal of network N: only its coordinators; approving it is refused to everyone else
    # (the proposal stays pending).
    "places:moderation_detail": Entry(
        "/places/moderation/{proposal}/",
        MODERATE,
        also=("POST",),
        data={"decision": "approve"},
    ),
    # A published place's page: public.
    "places:detail": Entry("/places/{place}/", PUBLIC),
    # Proposing a correction of a published place: public.
    "places:correct": Entry("/places/{place}/correct/", PUBLIC),
    # Editing the place: managers of A and coordinators of its networks.
    "places:edit": Entry("/places/{place}/edit/", MANAGE, also=("POST",)),
    # Its opening hours (an empty POST would clear them: refused, they stay).
    "places:hours": Entry("/places/{place}/hours/", MANAGE, also=("POST",)),
    # A new season.
    "places:season_new": Entry("/places/{place}/seasons/new/", MANAGE, also=("POST",)),
    # An existing season of A.
    "places:season_edit": Entry("/places/{place}/seasons/{season}/", MANAGE, also=("POST",)),
    # Deleting a season of A (POST only): refused → the season still exists.
    "places:season_delete": Entry(
        "/places/{place}/seasons/{season}/delete/", MANAGE_WRITE, method="POST"
    ),
    # Photos, animators and equipment.
    "places:gallery": Entry("/places/{place}/gallery/", MANAGE, also=("POST",)),
    # The team: who has which role. Roles below one's own: staff give community roles, managers
    # staff roles too, coordinators any; revoking the member's role is refused to everyone else.
    "places:team": Entry(
        "/places/{place}/team/",
        {**MANAGE, "staff_a": 200},
        also=("POST",),
        data={"action": "revoke", "role_id": "{place_role}"},
    ),
    # The history of A's changes (authors, old values): like editing.
    "places:history": Entry("/places/{place}/history/", MANAGE),
    # ---- Accounts (django-allauth, /accounts/) ----
    # Signing in: for visitors; a signed-in person is sent to LOGIN_REDIRECT_URL.
    "account_login": Entry("/accounts/login/", SIGNED_OUT),
    # Signing out: a confirmation page for signed-in people; visitors are sent home.
    "account_logout": Entry("/accounts/logout/", {**everyone(200), "anonymous": Redirect("/")}),
    # "This account is inactive": an information page.
    "account_inactive": Entry("/accounts/inactive/", PUBLIC),
    # Creating an account: for visitors; signed-in people are sent home.
    "account_signup": Entry("/accounts/signup/", SIGNED_OUT),
    # Confirming one's password before a sensitive action: signed-in people.
    "account_reauthenticate": Entry("/accounts/reauthenticate/", SIGNED_IN),
    # One's email addresses: signed-in people.
    "account_email": Entry("/accounts/email/", SIGNED_IN),
    # "We sent you a confirmation email": an information page.
    "account_email_verification_sent": Entry("/accounts/confirm-email/", PUBLIC),
    # Changing one's password: signed-in people.
    "account_change_password": Entry("/accounts/password/change/", SIGNED_IN),
    # Setting a first password: signed-in people; those who have one are sent to "change".
    "account_set_password": Entry(
        "/accounts/password/set/",
        {**everyone(Redirect("/accounts/password/change/")), "anonymous": LOGIN},
    ),
    # Asking for a password reset: public.
    "account_reset_password": Entry("/accounts/password/reset/", PUBLIC),
    # Confirming a login code: login by code is off, so there is no pending code for anyone.
    "account_confirm_login_code": Entry(
        "/accounts/login/code/confirm/",
        {**everyone(Redirect("/")), "anonymous": Redirect("/accounts/login/")},
    ),
    # An email confirmation link (here an unknown key): public, shows "invalid link".
    "account_confirm_email": Entry("/accounts/confirm-email/unknown-key/", PUBLIC),
    # "Your password was changed": an information page.
    "account_reset_password_from_key_done": Entry("/accounts/password/reset/key/done/", PUBLIC),
    # A password reset link (here a wrong token): public, shows "bad token".
    "account_reset_password_from_key": Entry("/accounts/password/reset/key/1-wrong-token/", PUBLIC),
    # "We sent you a reset link": an information page.
    "account_reset_password_done": Entry("/accounts/password/reset/done/", PUBLIC),
    # ---- Two-factor authentication (allauth.mfa, /accounts/2fa/) ----
    # The roles have no authenticator app here (tests/accounts/test_mfa.py covers those who do),
    # and a session opened by the test client has no recent password confirmation.
    # The two-factor overview: signed-in people.
    "mfa_index": Entry("/accounts/2fa/", SIGNED_IN),
    # The code step of a login in progress: nobody is in one, so back to the start.
    "mfa_authenticate": Entry(
        "/accounts/2fa/authenticate/",
        {**everyone(Redirect("/")), "anonymous": Redirect("/accounts/login/")},
    ),
    # Confirming with a code: without an authenticator, confirming with the password instead.
    "mfa_reauthenticate": Entry(
        "/accounts/2fa/reauthenticate/",
        {**everyone(Redirect("/accounts/reauthenticate/")), "anonymous": LOGIN},
    ),
    # Activating an authenticator: signed-in people, after confirming their password.
    "mfa_activate_totp": Entry(
        "/accounts/2fa/totp/activate/",
        {**everyone(Redirect(REAUTHENTICATE.format("totp%2Factivate"))), "anonymous": LOGIN},
    ),
    # Deactivating it: nothing to deactivate without one.
    "mfa_deactivate_totp": Entry("/accounts/2fa/totp/deactivate/", NO_AUTHENTICATOR),
    # Recovery codes: there are none without an authenticator.
    "mfa_view_recovery_codes": Entry("/accounts/2fa/recovery-codes/", NO_AUTHENTICATOR),
    # Generating recovery codes: signed-in people, after confirming their password.
    "mfa_generate_recovery_codes": Entry(
        "/accounts/2fa/recovery-codes/generate/",
        {
            **everyone(Redirect(REAUTHENTICATE.format("recovery-codes%2Fgenerate"))),
            "anonymous": LOGIN,
        },
    ),
    # Downloading them: none without an authenticator.
    "mfa_download_recovery_codes": Entry(
        "/accounts/2fa/recovery-codes/download/", NO_AUTHENTICATOR
    ),
    # ---- The audit log (maillage.accounts.urls) ----
    # Managers (of any place: B's manager reads B's entries) and coordinators; staff and members
    # have no audit log. Which entries each one reads is tested in tests/core/test_audit.py.
    "accounts:audit": Entry("/audit/", {**MANAGE, "manager_b": 200}),
    # ---- Languages ----
    # Switching language (POST, remembered on one's own account): everyone, back to `next`.
    "set_language": Entry(
        "/i18n/setlang/",
        everyone(Redirect("/")),
        method="POST",
        data={"language": "en", "next": "/"},
    ),
    # The JavaScript translation catalog: public.
    "javascript-catalog": Entry("/jsi18n/", PUBLIC),
    # ---- Operations ----
    # The health check for load balancers: public, says only "ok" or which service is down.
    "healthz": Entry("/healthz", PUBLIC),
    # ---- The JSON API (/api/v1/): tokens as Bearer, never the session ----
    # The OpenAPI schema: public.
    "api-1:openapi-json": Entry("/api/v1/openapi.json", PUBLIC),
    # The interactive documentation: public.
    "api-1:openapi-view": Entry("/api/v1/docs", PUBLIC),
    # The API root only locates the API for django-ninja: nothing there.
    "api-1:api-root": Entry("/api/v1/", everyone(404)),
    # Searching the directory: public (a given token must be valid).
    "api-1:list_places": Entry("/api/v1/places", PUBLIC),
    # The directory as GeoJSON: public.
    "api-1:places_geojson": Entry("/api/v1/places.geojson", PUBLIC),
    # The directory as JSON-LD: public.
    "api-1:places_jsonld": Entry("/api/v1/places.jsonld", PUBLIC),
    # The directory as CSV: public.
    "api-1:places_csv": Entry("/api/v1/places.csv", PUBLIC),
    # A published place: public.
    "api-1:get_place": Entry("/api/v1/places/{place}", PUBLIC),
    # Editing place A: see API_MANAGE; refused → A unchanged.
    "api-1:update_place": Entry(
        "/api/v1/places/{place}", API_MANAGE, method="PATCH", data={"summary": "Changed"}
    ),
    # Proposing a place: anyone (rate-limited per address).
    "api-1:create_proposal": Entry(
        "/api/v1/proposals",
        everyone(201),
        method="POST",
        data={
            "name": "Un tiers-lieu proposé",
            "town": "Mende",
            "postcode": "48000",
            "latitude": 44.52,
            "longitude": 3.5,
            "proposer_email": "proposer@example.org",
        },
    ),
    # Town suggestions: public.
    "api-1:towns": Entry("/api/v1/towns?q=Me", PUBLIC),
    # ---- Bookings pages (maillage.bookings.urls) ----
    # The network availability search: public (results are what the visitor may book).
    "bookings:availability": Entry("/bookings/", PUBLIC),
    # A resource's page and the place's calendar: public for published places.
    "bookings:resource": Entry("/bookings/resources/{resource}/", PUBLIC),
    "bookings:calendar": Entry("/bookings/places/{place}/calendar/", PUBLIC),
    # Booking: any signed-in person (the resource's rules decide the rest).
    "bookings:book": Entry("/bookings/resources/{resource}/book/", SIGNED_IN, also=("POST",)),
    # My bookings and my calendar address: mine only.
    "bookings:mine": Entry("/bookings/mine/", SIGNED_IN),
    "bookings:feed": Entry(
        "/bookings/mine/feed/",
        {**everyone(ALLOWED), "anonymous": LOGIN},
        method="POST",
        data={"action": "renew"},
    ),
    # Cancelling member_a's booking: its booker and the place's staff; anyone else 404.
    "bookings:cancel": Entry(
        "/bookings/mine/{booking}/cancel/", PLACE_STAFF_OR_BOOKER, method="POST"
    ),
    # Leaving member_a's waiting-list entry: only member_a.
    "bookings:waitlist_leave": Entry(
        "/bookings/waitlist/{waitlist}/leave/", OWNER_ONLY_PAGE, method="POST"
    ),
    # Managing A's resources, requests and trainings: see MANAGE.
    "bookings:manage_resources": Entry("/bookings/places/{place}/resources/", MANAGE),
    "bookings:resource_new": Entry(
        "/bookings/places/{place}/resources/new/", MANAGE, also=("POST",)
    ),
    "bookings:resource_edit": Entry(
        "/bookings/places/{place}/resources/{resource}/edit/", MANAGE, also=("POST",)
    ),
    "bookings:requests": Entry("/bookings/places/{place}/requests/", MANAGE),
    "bookings:decide": Entry(
        "/bookings/places/{place}/requests/{pending}/",
        MANAGE_WRITE,
        method="POST",
        data={"decision": "approve"},
    ),
    "bookings:trainings": Entry("/bookings/places/{place}/trainings/", MANAGE, also=("POST",)),
    "bookings:training_revoke": Entry(
        "/bookings/places/{place}/trainings/{training}/revoke/", MANAGE_WRITE, method="POST"
    ),
    # Calendar feeds: public per resource and place (private bookings read "Busy"); a person's
    # feed to whoever holds its secret address.
    "bookings:resource_feed": Entry("/bookings/feeds/resources/{resource}.ics", PUBLIC),
    "bookings:place_feed": Entry("/bookings/feeds/places/{place}.ics", PUBLIC),
    "bookings:user_feed": Entry("/bookings/feeds/u/{feed_token}.ics", PUBLIC),
    # ---- Bookings API ----
    # Availability and resources: public reads.
    "api-1:availability": Entry("/api/v1/availability?start={start}&end={end}", PUBLIC),
    "api-1:list_resources": Entry("/api/v1/resources?place={place}", PUBLIC),
    "api-1:get_resource": Entry("/api/v1/resources/{resource}", PUBLIC),
    # Creating and editing A's resources: see API_MANAGE.
    "api-1:create_resource": Entry(
        "/api/v1/resources",
        {**API_MANAGE, "manager_a": 201, "coordinator": 201},
        method="POST",
        data={"place": "{place}", "name": "Salle Tarn", "kind": "meeting_room", "capacity": 6},
    ),
    "api-1:update_resource": Entry(
        "/api/v1/resources/{resource}", API_MANAGE, method="PATCH", data={"name": "Salle Lot"}
    ),
    # Booking and queueing: any token holder (the body decides: 201, 400, 409).
    "api-1:create_booking": Entry(
        "/api/v1/bookings", API_SIGNED_IN_WRITE, method="POST", data={"title": "Réunion"}
    ),
    "api-1:join_waitlist": Entry(
        "/api/v1/waitlist", API_SIGNED_IN_WRITE, method="POST", data={"title": "Réunion"}
    ),
    # One's own bookings.
    "api-1:list_bookings": Entry("/api/v1/bookings", {**everyone(200), "anonymous": 401}),
    # member_a's booking: its booker and the place's staff; anyone else 404.
    "api-1:get_booking": Entry("/api/v1/bookings/{booking}", API_STAFF_OR_BOOKER),
    "api-1:cancel_booking": Entry(
        "/api/v1/bookings/{booking}", {**API_STAFF_OR_BOOKER_DELETE}, method="DELETE"
    ),
    # Deciding on member_a's pending request: A's managers; its booker and A's staff 403.
    "api-1:decide_booking": Entry(
        "/api/v1/bookings/{pending}/decision",
        {**API_MANAGE, "member_a": 403},
        method="POST",
        data={"approve": True},
    ),
    # Leaving member_a's waiting-list entry: only member_a.
    "api-1:leave_waitlist": Entry(
        "/api/v1/waitlist/{waitlist}",
        {**everyone(404), "anonymous": 401, "member_a": 204},
        method="DELETE",
    ),
    # ---- Agenda pages (maillage.agenda.urls) ----
    # The network agenda, an event's page, feeds, the widget and the newsletter: public.
    "agenda:index": Entry("/agenda/", PUBLIC),
    "agenda:event": Entry("/agenda/events/{event}-atelier/", PUBLIC),
    "agenda:feed_ics": Entry("/agenda/feed.ics?place={place}", PUBLIC),
    "agenda:feed_rss": Entry("/agenda/feed.rss?place={place}", PUBLIC),
    "agenda:widget": Entry("/agenda/widget/?place={place}", PUBLIC),
    "agenda:newsletter": Entry("/agenda/newsletter/", PUBLIC),
    "agenda:digest": Entry("/agenda/newsletter/digest/?place={place}", PUBLIC),
    # Registering: anyone, with an account or with a name and an email.
    "agenda:register": Entry(
        "/agenda/events/{event}/register/",
        everyone(ALLOWED),
        method="POST",
        data={"name": "Marie-Louise", "email": "marie-louise@example.org"},
    ),
    # A registration's page and a subscription's links: whoever holds the secret of the email.
    "agenda:registration": Entry("/agenda/registrations/{registration_secret}/", PUBLIC),
    "agenda:newsletter_confirm": Entry("/agenda/newsletter/confirm/{subscription_secret}/", PUBLIC),
    "agenda:newsletter_unsubscribe": Entry(
        "/agenda/newsletter/unsubscribe/{subscription_secret}/", PUBLIC
    ),
    # My registrations: mine only.
    "agenda:mine": Entry("/agenda/mine/", SIGNED_IN),
    # Running A's events: its managers and staff and N's coordinator; anyone else 404.
    "agenda:manage_place": Entry("/agenda/manage/places/{place}/", EVENTS_MANAGE),
    "agenda:create_place": Entry(
        "/agenda/manage/places/{place}/new/", EVENTS_MANAGE, also=("POST",)
    ),
    "agenda:edit": Entry("/agenda/manage/events/{event}/edit/", EVENTS_MANAGE, also=("POST",)),
    "agenda:cancel": Entry("/agenda/manage/events/{event}/cancel/", EVENTS_MANAGE, also=("POST",)),
    "agenda:participants": Entry(
        "/agenda/manage/events/{event}/participants/", EVENTS_MANAGE, also=("POST",)
    ),
    "agenda:participants_csv": Entry(
        "/agenda/manage/events/{event}/participants.csv", EVENTS_MANAGE
    ),
    "agenda:message": Entry(
        "/agenda/manage/events/{event}/message/", EVENTS_MANAGE, also=("POST",)
    ),
    "agenda:checkin": Entry(
        "/agenda/manage/events/{event}/checkin/",
        EVENTS_MANAGE,
        also=("POST",),
        data={"registration": "{registration}"},
    ),
    # Network N's own events: its coordinators only.
    "agenda:manage_network": Entry("/agenda/manage/networks/{network}/", COORDINATE),
    "agenda:create_network": Entry(
        "/agenda/manage/networks/{network}/new/", COORDINATE, also=("POST",)
    ),
    # ---- Agenda API ----
    "api-1:list_events": Entry("/api/v1/events?place={place}", PUBLIC),
    "api-1:get_event": Entry("/api/v1/events/{event}", PUBLIC),
    # Publishing, changing and cancelling A's events: its staff and N's coordinator.
    "api-1:create_event": Entry(
        "/api/v1/events",
        {**API_EVENTS_MANAGE, "staff_a": 201, "manager_a": 201, "coordinator": 201},
        method="POST",
        data={
            "place": "{place}",
            "title": "Repair café",
            "category": "repair_cafe",
            "start": "{event_start}",
            "end": "{event_end}",
        },
    ),
    "api-1:update_event": Entry(
        "/api/v1/events/{event}", API_EVENTS_MANAGE, method="PATCH", data={"capacity": 12}
    ),
    "api-1:cancel_event": Entry("/api/v1/events/{event}", API_EVENTS_MANAGE, method="DELETE"),
    "api-1:list_registrations": Entry("/api/v1/events/{event}/registrations", API_EVENTS_MANAGE),
    # Registering: anyone (without a token, a name and an email).
    "api-1:register": Entry(
        "/api/v1/events/{event}/registrations",
        everyone(ALLOWED),
        method="POST",
        data={"name": "Justine", "email": "justine@example.org"},
    ),
    # member_a's registration: its owner and the event's managers; anyone else 404.
    "api-1:cancel_registration": Entry(
        "/api/v1/registrations/{registration}",
        {**everyone(200), "anonymous": 404, "manager_b": 404},
        method="DELETE",
    ),
    # Checking member_a in: the event's managers; the participant themself 403.
    "api-1:check_in": Entry(
        "/api/v1/registrations/{registration}/checkin",
        API_EVENTS_MANAGE,
        method="POST",
        data={"undo": False},
    ),
    # ---- Uploaded files ----
    # Uploads are served to whoever knows their URL, without any check: those of unpublished
    # places too, and their names come from the uploaded file's name (a known limit).
    r"^media/(?P<path>.*)$": Entry("/media/{media}", PUBLIC),
    # ---- The admin (other routes: PREFIX_RULES) ----
    # Its login page: for everyone who is not yet in; a superuser is sent to the index.
    "admin:login": Entry("/admin/login/", {**PUBLIC, "superuser": Redirect("/admin/")}),
    # ---- Members: the team's pages (maillage.members.urls, manage_views) ----
    # The place's people and their plans: the team of A (staff included) and N's coordinator.
    "members:manage": Entry("/members/places/{place}/manage/", MEMBERS_TEAM),
    # The plans of A (withdrawn ones too): read by the team; edit links only for managers.
    "members:plans": Entry("/members/places/{place}/manage/plans/", MEMBERS_TEAM),
    # A new plan: managers of A and coordinators (can_manage_plans); staff 404. Refused → no plan.
    "members:plan_new": Entry(
        "/members/places/{place}/manage/plans/new/",
        MANAGE,
        also=("POST",),
        data={"name": "Matrix", "kind": "day_pass", "price": "5", "currency": "EUR"},
    ),
    # Editing a plan of A: as plan_new; refused → the plan is unchanged.
    "members:plan_edit": Entry(
        "/members/places/{place}/manage/plans/{plan}/",
        MANAGE,
        also=("POST",),
        data={
            "name": "Changed",
            "kind": "ticket_book",
            "price": "1",
            "currency": "EUR",
            "tickets": "5",
        },
    ),
    # Giving a plan of A: the team; refused → no account, no membership.
    "members:membership_new": Entry(
        "/members/places/{place}/manage/give/",
        MEMBERS_TEAM,
        also=("POST",),
        data={"plan": "{plan}", "email": "matrix-new@example.org", "starts_on": "2099-01-01"},
    ),
    # member_a's membership at A: the team; ending it is refused to everyone else.
    "members:membership": Entry(
        "/members/places/{place}/manage/memberships/{membership}/",
        MEMBERS_TEAM,
        also=("POST",),
        data={"action": "end", "end-on": "2099-12-31"},
    ),
    # Attendance of A: the team.
    "members:attendance": Entry("/members/places/{place}/manage/attendance/", MEMBERS_TEAM),
    # CSV exports of A (attendance, receipts, credits, ledger): the team.
    "members:export": Entry("/members/places/{place}/manage/exports/attendance.csv", MEMBERS_TEAM),
    # The pass ledger of network N: its coordinators and the managers of its places (manager_a);
    # staff, members and B's manager (B is not in N) → 404.
    "members:network_ledger": Entry(
        "/members/networks/{network}/ledger/",
        {**everyone(404), "anonymous": LOGIN, "manager_a": 200, "coordinator": 200},
    ),
    # ---- Presence at the door (maillage.members.kiosk_views) ----
    # The check-in desk: A's team (manager, staff) and N's coordinator; anybody else 404. The POST
    # checks member_a's check-in of today out: a refused one leaves it open.
    "members:presence": Entry(
        "/members/places/{place}/manage/presence/",
        {
            "anonymous": LOGIN,
            "member_a": 404,
            "staff_a": 200,
            "manager_a": 200,
            "manager_b": 404,
            "coordinator": 200,
        },
        also=("POST",),
        data={"action": "checkout", "checkin": "{checkin}"},
    ),
    # The kiosk's set-up: A's team reads it (200 for staff_a, manager_a, coordinator: covered by
    # tests/members/test_kiosk.py), only managers and coordinators renew or revoke the address.
    # Staff see the page, so the write they may not do is a 403 (as bookings' on_behalf); anybody
    # outside the team 404. The entry requests the write (a new token for A).
    "members:kiosk_setup": Entry(
        "/members/places/{place}/manage/kiosk/",
        {
            "anonymous": LOGIN,
            "member_a": 404,
            "staff_a": 403,
            "manager_a": ALLOWED,
            "manager_b": 404,
            "coordinator": ALLOWED,
        },
        method="POST",
        data={"action": "renew"},
    ),
    # The kiosk and its QR code: whoever holds the secret address, signed in or not (the tablet
    # needs no account); any other token 404. The POST checks member_a in again: 409, already
    # in today, nothing written (whoever is signed in, the kiosk acts for nobody).
    "members:kiosk": Entry(
        "/members/kiosk/{kiosk_token}/",
        PUBLIC,
        also=("POST",),
        data={"action": "checkin", "member": "{member_pk}"},
    ),
    "members:kiosk_qr": Entry("/members/kiosk/{kiosk_token}/qr.svg", PUBLIC),
    # ---- Members: their own pages (maillage.members.urls, views) ----
    # Editing one's own profile: anyone signed in (a write of their own profile only).
    "members:profile_edit": Entry(
        "/members/me/",
        SIGNED_IN,
        also=("POST",),
        data={"full_name": "Camille Martin", "visibility": "members"},
    ),
    # "My plans and attendance" and the CSV of one's own attendance: anyone signed in.
    "members:mine": Entry("/members/me/plans/", SIGNED_IN),
    "members:my_attendance_csv": Entry("/members/me/attendance.csv", SIGNED_IN),
    # member_a's profile (private: never saved, the default): member_a themself, the team of A
    # and N's coordinator; anyone else, anonymous visitors too, is told there is no such member.
    "members:profile": Entry(
        "/members/{member_pk}/",
        {
            "anonymous": 404,
            "member_a": 200,
            "staff_a": 200,
            "manager_a": 200,
            "manager_b": 404,
            "coordinator": 200,
        },
    ),
    # Member directories of a published place and of a network: public (each viewer sees only
    # the profiles they may read; anonymous visitors the public ones).
    "members:place_directory": Entry("/members/places/{place}/", PUBLIC),
    "members:network_directory": Entry("/members/networks/{network}/", PUBLIC),
    # "Who is here now" at A: the people with a role in A and N's coordinator; anybody else 404.
    "members:here": Entry(
        "/members/places/{place}/here/",
        {
            "anonymous": LOGIN,
            "member_a": 200,
            "staff_a": 200,
            "manager_a": 200,
            "manager_b": 404,
            "coordinator": 200,
        },
    ),
    # Checking oneself in at A from a phone (the kiosk's QR code): anyone signed in opens it; the
    # check-in is the service's business (team: 302, nothing valid or already in: 409).
    "members:self_checkin": Entry(
        "/members/places/{place}/checkin/",
        SIGNED_IN,
        also=("POST",),
        data={"action": "checkin"},
    ),
    # ---- Members API ----
    # Plans: public reads; offering and changing A's plans: see API_MANAGE (staff_a 403).
    "api-1:list_plans": Entry("/api/v1/plans?place={place}", PUBLIC),
    "api-1:get_plan": Entry("/api/v1/plans/{plan}", PUBLIC),
    "api-1:create_plan": Entry(
        "/api/v1/plans",
        {**API_MANAGE, "manager_a": 201, "coordinator": 201},
        method="POST",
        data={"place": "{place}", "name": "Pass journée", "kind": "day_pass", "price": "12.00"},
    ),
    "api-1:update_plan": Entry(
        "/api/v1/plans/{plan}", API_MANAGE, method="PATCH", data={"name": "Carnet 12"}
    ),
    # Giving A's plans, listing and ending A's memberships: A's team (managers, staff) and N's
    # coordinator; member_a 403 (a role in A), manager_b 404.
    "api-1:create_membership": Entry(
        "/api/v1/memberships",
        {**API_EVENTS_MANAGE, "staff_a": 201, "manager_a": 201, "coordinator": 201},
        method="POST",
        data={"plan": "{plan}", "member": "nouvelle-membre@example.org"},
    ),
    "api-1:list_memberships": Entry("/api/v1/memberships?place={place}", API_EVENTS_MANAGE),
    # member_a's membership: its holder and A's team; anyone else 404.
    "api-1:get_membership": Entry("/api/v1/memberships/{membership}", API_STAFF_OR_BOOKER),
    "api-1:end_membership": Entry(
        "/api/v1/memberships/{membership}/end", API_EVENTS_MANAGE, method="POST", data={}
    ),
    # Checking oneself in at A (published): anyone with a token; 201, or 409 when nothing valid
    # is left or member_a is already in today (the body decides).
    "api-1:create_checkin": Entry(
        "/api/v1/checkins", API_SIGNED_IN_WRITE, method="POST", data={"place": "{place}"}
    ),
    # A's attendance: its team and N's coordinator.
    "api-1:list_checkins": Entry("/api/v1/checkins?place={place}", API_EVENTS_MANAGE),
    # member_a's check-in: checking out by themself or A's team; taking it back by A's team
    # (member_a 403); anyone else 404.
    "api-1:checkout_checkin": Entry(
        "/api/v1/checkins/{checkin}/checkout", API_STAFF_OR_BOOKER, method="POST"
    ),
    "api-1:undo_checkin": Entry(
        "/api/v1/checkins/{checkin}",
        {**API_EVENTS_MANAGE, "staff_a": 204, "manager_a": 204, "coordinator": 204},
        method="DELETE",
    ),
    # N's pass ledger: N's coordinator and the managers of N's places; the other people of N's
    # places 403; manager_b (B is only in M) 404.
    "api-1:network_ledger": Entry("/api/v1/ledger?network={network}", API_MANAGE),
    # The directory: public (it lists only the profiles each caller may read).
    "api-1:list_members": Entry("/api/v1/members?place={place}", PUBLIC),
    # member_a's private profile: themself, A's team and N's coordinator; anyone else 404.
    "api-1:get_member": Entry(
        "/api/v1/members/{member_pk}", {**everyone(200), "anonymous": 404, "manager_b": 404}
    ),
    # One's own profile.
    "api-1:get_my_profile": Entry("/api/v1/me/profile", {**everyone(200), "anonymous": 401}),
    "api-1:update_my_profile": Entry(
        "/api/v1/me/profile",
        {**everyone(200), "anonymous": 401},
        method="PUT",
        data={"bio": "Je fabrique des choses."},
    ),
    # ---- Community: the skills exchange (maillage.community.exchange_views) ----
    # The list of offers and requests: public.
    "community:exchange": Entry("/community/skills/", PUBLIC),
    # Posting: anyone signed in opens the form (those with no place are told to become members
    # of one); the place list holds only their places, so manager_b's post at A is an invalid
    # choice (the form again, nothing written).
    "community:exchange_new": Entry(
        "/community/skills/new/",
        SIGNED_IN,
        also=("POST",),
        data={
            "kind": "offer",
            "place": "{place_pk}",
            "title": "Je répare les vélos",
            "skills": ["repair"],
        },
    ),
    # member_a's open offer at A: public (a hidden one: its author and A's team only).
    "community:exchange_post": Entry("/community/skills/{skill}/", PUBLIC),
    # Changing and closing it: its author only; anyone else is told there is no such page.
    "community:exchange_edit": Entry(
        "/community/skills/{skill}/edit/",
        OWNER_ONLY_PAGE,
        also=("POST",),
        data={"title": "Je peux aider pour vos dossiers LEADER", "skills": ["grant_writing"]},
    ),
    "community:exchange_close": Entry(
        "/community/skills/{skill}/close/", OWNER_ONLY_PAGE, method="POST"
    ),
    # ---- Community: the skills exchange in the API (maillage.community.api_exchange) ----
    # Public reads of open, visible posts.
    "api-1:list_skill_posts": Entry("/api/v1/community/skills?place={place}", PUBLIC),
    "api-1:get_skill_post": Entry("/api/v1/community/skills/{skill}", PUBLIC),
    # Posting at A: its people (community and team) and N's coordinator; manager_b knows A
    # (published) but has no role there: 403.
    "api-1:create_skill_post": Entry(
        "/api/v1/community/skills",
        {
            "anonymous": 401,
            "member_a": 201,
            "staff_a": 201,
            "manager_a": 201,
            "manager_b": 403,
            "coordinator": 201,
        },
        method="POST",
        data={
            "place": "{place}",
            "kind": "offer",
            "title": "Je répare les vélos",
            "skills": ["repair"],
        },
    ),
    # member_a's public offer: only its author changes or closes it; the others know it exists
    # (403). The place's team moderates (hide), it does not edit.
    "api-1:update_skill_post": Entry(
        "/api/v1/community/skills/{skill}",
        {**everyone(403), "anonymous": 401, "member_a": 200},
        method="PATCH",
        data={"title": "Je peux aider pour vos dossiers LEADER"},
    ),
    "api-1:close_skill_post": Entry(
        "/api/v1/community/skills/{skill}/close",
        {**everyone(403), "anonymous": 401, "member_a": 200},
        method="POST",
    ),
    # Its matches (people and posts nearby): its author only; anyone else 404, never a leak.
    "api-1:skill_post_matches": Entry(
        "/api/v1/community/skills/{skill}/matches",
        {**everyone(404), "anonymous": 401, "member_a": 200},
    ),
    # Private replies: every signed-in caller gets 200, but only what they may read (the author
    # all of them, anyone else their own: the team of A none but the manager's own reply).
    "api-1:list_skill_post_replies": Entry(
        "/api/v1/community/skills/{skill}/replies", {**everyone(200), "anonymous": 401}
    ),
    # Replying: anyone signed in but its author (400: one's own post).
    "api-1:create_skill_post_reply": Entry(
        "/api/v1/community/skills/{skill}/replies",
        {**everyone(201), "anonymous": 401, "member_a": 400},
        method="POST",
        data={"body": "Je peux vous aider jeudi."},
    ),
    # Thanking A's manager, who replied: member_a (its author) only; others 403.
    "api-1:thank_for_skill_post": Entry(
        "/api/v1/community/skills/{skill}/thanks",
        {**everyone(403), "anonymous": 401, "member_a": 201},
        method="POST",
        data={"receiver": "{skill_replier}", "message": "Merci !"},
    ),
    # ---- Community: the projects and opportunities board (maillage.community.board_views) ----
    # The board of every network, of place A, of network N, a post's page, the RSS feed: public.
    "community:board": Entry("/community/board/", PUBLIC),
    "community:board_place": Entry("/community/places/{place}/board/", PUBLIC),
    "community:board_network": Entry("/community/networks/{network}/board/", PUBLIC),
    "community:board_post": Entry("/community/board/{opportunity}/", PUBLIC),
    "community:board_feed": Entry("/community/board/feed.rss?place={place}", PUBLIC),
    # Posting: anyone signed in opens the form; at A, its people and N's coordinator post (302);
    # B's manager gets the form back with an error on the place (400, nothing written).
    "community:board_new": Entry(
        "/community/board/new/", SIGNED_IN, also=("POST",), data=_BOARD_NEW_POST
    ),
    # A private reply to member_a's post: anyone signed in (302); member_a, its author, gets the
    # page back with an error (400, nothing written).
    "community:board_reply": Entry(
        "/community/board/{opportunity}/reply/",
        {**everyone(ALLOWED), "anonymous": LOGIN},
        method="POST",
        data={"body": "Je peux aider, écrivez-moi."},
    ),
    # Changing and closing member_a's post: member_a only; anyone else 404, A's team too.
    "community:board_edit": Entry(
        "/community/board/{opportunity}/edit/",
        _BOARD_AUTHOR_PAGE,
        also=("POST",),
        data=_BOARD_CHANGED_POST,
    ),
    "community:board_close": Entry(
        "/community/board/{opportunity}/close/", _BOARD_AUTHOR_WRITE, method="POST"
    ),
    # ---- Community API: the board (maillage.community.api_board) ----
    "api-1:list_opportunities": Entry("/api/v1/community/opportunities?place={place}", PUBLIC),
    "api-1:get_opportunity": Entry("/api/v1/community/opportunities/{opportunity}", PUBLIC),
    # Posting at A: its people and N's coordinator (201); B's manager 403 (A is public, they have
    # no role there).
    "api-1:create_opportunity": Entry(
        "/api/v1/community/opportunities",
        {**everyone(201), "anonymous": 401, "manager_b": 403},
        method="POST",
        data=_BOARD_NEW_POST,
    ),
    # Changing and closing member_a's post: member_a only, anyone else 404.
    "api-1:update_opportunity": Entry(
        "/api/v1/community/opportunities/{opportunity}",
        _BOARD_AUTHOR_API,
        method="PATCH",
        data={"title": "Titre changé"},
    ),
    "api-1:close_opportunity": Entry(
        "/api/v1/community/opportunities/{opportunity}/close", _BOARD_AUTHOR_API, method="POST"
    ),
    # The private replies each caller may read (the author all, others their own).
    "api-1:list_opportunity_replies": Entry(
        "/api/v1/community/opportunities/{opportunity}/replies", {**everyone(200), "anonymous": 401}
    ),
    # Replying: anyone with a token (201) but member_a, the author (400, nothing written).
    "api-1:create_opportunity_reply": Entry(
        "/api/v1/community/opportunities/{opportunity}/replies",
        {**everyone(201), "anonymous": 401, "member_a": 400},
        method="POST",
        data={"body": "Je peux aider, écrivez-moi."},
    ),
    # ---- Community: the give-box (maillage.community.givebox_views) ----
    # The give-box: public (published places' items, hidden ones left out).
    "community:givebox": Entry("/community/givebox/", PUBLIC),
    # Putting an item in: anyone signed in opens the form (the place choice lists only their
    # places); the POST names place A: a refused place is a form error (400), no item.
    "community:givebox_new": Entry(
        "/community/givebox/new/",
        SIGNED_IN,
        also=("POST",),
        data={"place": "{place_pk}", "mode": "give", "title": "Livres pour enfants"},
    ),
    # member_a's item: public.
    "community:givebox_item": Entry("/community/givebox/{item}/", PUBLIC),
    # Changing it: its author only; anybody else is told there is no such page.
    "community:givebox_edit": Entry(
        "/community/givebox/{item}/edit/",
        OWNER_ONLY_PAGE,
        also=("POST",),
        data={"mode": "lend", "title": "Perceuse à percussion"},
    ),
    # "I'd like it": anyone signed in (its author gets a 400: one's own item).
    "community:givebox_reply": Entry(
        "/community/givebox/{item}/reply/",
        {**everyone(ALLOWED), "anonymous": LOGIN},
        method="POST",
        data={"body": "Je peux la prendre samedi ?"},
    ),
    # The status buttons: reserving is its author's; anybody else 404 (the team may only mark it
    # gone, not requested here), nothing changes.
    "community:givebox_status": Entry(
        "/community/givebox/{item}/status/",
        {**everyone(404), "anonymous": LOGIN, "member_a": ALLOWED},
        method="POST",
        data={"action": "reserve"},
    ),
    # ---- Community API: the give-box (maillage.community.api_givebox) ----
    "api-1:list_items": Entry("/api/v1/community/items?place={place}", PUBLIC),
    # Putting an item in at A: the people of A (any role) and N's coordinator; B's manager knows
    # A (published) but may not post there: 403.
    "api-1:create_item": Entry(
        "/api/v1/community/items",
        {
            "anonymous": 401,
            "member_a": 201,
            "staff_a": 201,
            "manager_a": 201,
            "manager_b": 403,
            "coordinator": 201,
        },
        method="POST",
        data={"place": "{place}", "mode": "give", "title": "Livres pour enfants"},
    ),
    "api-1:get_item": Entry("/api/v1/community/items/{item}", PUBLIC),
    # Changing member_a's item, reserving it: its author; anybody else 404.
    "api-1:update_item": Entry(
        "/api/v1/community/items/{item}",
        {**everyone(404), "anonymous": 401, "member_a": 200},
        method="PATCH",
        data={"title": "Perceuse à percussion"},
    ),
    "api-1:change_item_status": Entry(
        "/api/v1/community/items/{item}/status",
        {**everyone(404), "anonymous": 401, "member_a": 200},
        method="POST",
        data={"action": "reserve"},
    ),
    # The private messages: anyone with a token reads those they may (the author all, anyone
    # else their own: an empty list), so 200 for everyone signed in.
    "api-1:list_item_replies": Entry(
        "/api/v1/community/items/{item}/replies",
        {**everyone(200), "anonymous": 401},
    ),
    # "I'd like it": anyone with a token; its author 400 (one's own item).
    "api-1:create_item_reply": Entry(
        "/api/v1/community/items/{item}/replies",
        {**everyone(201), "anonymous": 401, "member_a": 400},
        method="POST",
        data={"body": "Je peux la prendre samedi ?"},
    ),
    # ---- Community: the idea box (maillage.community.ideas_views) ----
    # A published place's idea box and an idea's page: public.
    "community:ideas": Entry("/community/places/{place}/ideas/", PUBLIC),
    "community:idea": Entry("/community/ideas/{idea}/", PUBLIC),
    # Posting an idea: anyone signed in (no role at the place needed); refused → no idea.
    "community:ideas_new": Entry(
        "/community/places/{place}/ideas/new/",
        SIGNED_IN,
        also=("POST",),
        data={"title": "Une idée de la matrice", "body": "Pour voir qui peut la poster."},
    ),
    # Voting (a POST form): the people of A (member_a already voted: a message, then back) and
    # N's coordinator; B's manager sees the idea but may not vote there (403); nothing written.
    "community:idea_vote": Entry(
        "/community/ideas/{idea}/vote/",
        {
            "anonymous": LOGIN,
            "member_a": ALLOWED,
            "staff_a": ALLOWED,
            "manager_a": ALLOWED,
            "manager_b": 403,
            "coordinator": ALLOWED,
        },
        method="POST",
        data={"action": "vote"},
    ),
    # The team's answer: A's team and N's coordinator; A's member 403, B's manager 404.
    "community:idea_answer": Entry(
        "/community/ideas/{idea}/answer/",
        {
            "anonymous": LOGIN,
            "member_a": 403,
            "staff_a": ALLOWED,
            "manager_a": ALLOWED,
            "manager_b": 404,
            "coordinator": ALLOWED,
        },
        method="POST",
        data={"status": "planned", "answer": "Prévu pour le printemps."},
    ),
    # ---- Community API: the idea box (maillage.community.api_ideas) ----
    "api-1:list_ideas": Entry("/api/v1/community/ideas?place={place}", PUBLIC),
    "api-1:get_idea": Entry("/api/v1/community/ideas/{idea}", PUBLIC),
    # Posting: anyone with a token.
    "api-1:create_idea": Entry(
        "/api/v1/community/ideas",
        {**everyone(201), "anonymous": 401},
        method="POST",
        data={"place": "{place}", "title": "Une idée", "body": "Pour la matrice."},
    ),
    # Voting: the people of A and N's coordinator (member_a already voted: 409); B's manager 403.
    "api-1:vote_idea": Entry(
        "/api/v1/community/ideas/{idea}/vote",
        {
            "anonymous": 401,
            "member_a": 409,
            "staff_a": 201,
            "manager_a": 201,
            "manager_b": 403,
            "coordinator": 201,
        },
        method="POST",
    ),
    # Taking one's vote back: member_a's is there (204); the others never voted (404); B's
    # manager may not vote at A (403).
    "api-1:unvote_idea": Entry(
        "/api/v1/community/ideas/{idea}/vote",
        {
            "anonymous": 401,
            "member_a": 204,
            "staff_a": 404,
            "manager_a": 404,
            "manager_b": 403,
            "coordinator": 404,
        },
        method="DELETE",
    ),
    # The team's answer: A's team and N's coordinator; A's member 403, B's manager 404.
    "api-1:answer_idea": Entry(
        "/api/v1/community/ideas/{idea}/answer",
        {
            "anonymous": 401,
            "member_a": 403,
            "staff_a": 200,
            "manager_a": 200,
            "manager_b": 404,
            "coordinator": 200,
        },
        method="POST",
        data={"status": "planned", "answer": "Prévu pour le printemps."},
    ),
    # ---- Community: mentoring (maillage.community.mentoring_views) ----
    # Asking a mentor: everyone, signed in or not (honeypot, rate limit per connection); a
    # question is recorded (redirect) for every role.
    "community:mentoring": Entry(
        "/community/mentoring/", PUBLIC, also=("POST",), data=_MENTORING_QUESTION
    ),
    # The asker's page: whoever holds the secret link of the emails (confirming again is
    # harmless: a redirect).
    "community:mentoring_request": Entry(
        "/community/mentoring/r/{mentoring_secret}/",
        PUBLIC,
        also=("POST",),
        data={"action": "confirm"},
    ),
    # Opting in as a mentor: any signed-in person sees the page; the coordinator, who has no role
    # in a place, is told how to become one (their POST is refused with a 403, tested in
    # tests/community/test_mentoring_pages.py).
    "community:mentoring_become": Entry("/community/mentoring/mentor/", SIGNED_IN),
    # A mentor's queue: any signed-in person (empty, with an invitation, for non-mentors).
    "community:mentoring_requests": Entry("/community/mentoring/requests/", SIGNED_IN),
    # An open request of A in "entrepreneurship": its mentor member_a, A's team and N's
    # coordinator; B's manager → 404 (the team's POST actions are tested in
    # tests/community/test_mentoring_pages.py).
    "community:mentoring_detail": Entry(
        "/community/mentoring/{mentoring}/", {**MEMBERS_TEAM, "member_a": 200}
    ),
    # The team's queue of A's requests: A's managers and staff, N's coordinator; others 404.
    "community:mentoring_team": Entry("/community/places/{place}/mentoring/", MEMBERS_TEAM),
    # ---- API: mentoring (maillage.community.api_mentoring) ----
    # Asking: anyone, with a token or not.
    "api-1:create_mentoring_request": Entry(
        "/api/v1/community/mentoring/requests",
        everyone(201),
        method="POST",
        data=_MENTORING_QUESTION,
    ),
    # A place's requests for its team: its other people 403, anyone else 404.
    "api-1:list_mentoring_requests": Entry(
        "/api/v1/community/mentoring/requests?place={place}", API_EVENTS_MANAGE
    ),
    # A's open request: its mentor member_a, A's team and N's coordinator; B's manager 404.
    "api-1:get_mentoring_request": Entry(
        "/api/v1/community/mentoring/requests/{mentoring}",
        {**everyone(200), "anonymous": 401, "manager_b": 404},
    ),
    # Answering: the mentor member_a; A's team sees it but is no mentor (403); B's manager 404.
    "api-1:answer_mentoring_request": Entry(
        "/api/v1/community/mentoring/requests/{mentoring}/answers",
        {
            "anonymous": 401,
            "member_a": 201,
            "staff_a": 403,
            "manager_a": 403,
            "manager_b": 404,
            "coordinator": 403,
        },
        method="POST",
        data={"body": "Va voir la BGE de Mende."},
    ),
    # Confirming the minor's consent: A's team and N's coordinator; the mentor member_a does not
    # see a request awaiting consent (404), nor does B's manager.
    "api-1:confirm_mentoring_consent": Entry(
        "/api/v1/community/mentoring/requests/{mentoring_minor}/consent",
        {**API_EVENTS_MANAGE, "member_a": 404},
        method="POST",
        data={},
    ),
    # Connecting A's open request with the mentor member_a: A's team and N's coordinator; the
    # mentor sees it (403); B's manager 404.
    "api-1:connect_mentoring_request": Entry(
        "/api/v1/community/mentoring/requests/{mentoring}/connect",
        API_EVENTS_MANAGE,
        method="POST",
        data={"mentor": "{mentoring_mentor}"},
    ),
    # Closing: its asker (none here: asked without an account) and A's team; the mentor 403.
    "api-1:close_mentoring_request": Entry(
        "/api/v1/community/mentoring/requests/{mentoring}/close",
        API_EVENTS_MANAGE,
        method="POST",
        data={},
    ),
    # One's own mentor profile: anyone with a token.
    "api-1:get_my_mentor": Entry(
        "/api/v1/community/me/mentor", {**everyone(200), "anonymous": 401}
    ),
    # Opting in: people with a role in a place; the coordinator has none (403).
    "api-1:update_my_mentor": Entry(
        "/api/v1/community/me/mentor",
        {**everyone(200), "anonymous": 401, "coordinator": 403},
        method="PUT",
        data={"fields": ["studies"], "about": "Graphiste.", "is_active": True},
    ),
    # ---- Community exchange: hubs, reports, moderation, news (maillage.community.views) ----
    "community:home": Entry("/community/", PUBLIC),
    "community:place": Entry("/community/places/{place}/", PUBLIC),
    "community:network": Entry("/community/networks/{network}/", PUBLIC),
    # Reporting a visible post: anyone signed in (the report itself is the service's business).
    "community:report": Entry(
        "/community/report/skill/{reported_post}/",
        SIGNED_IN,
        also=("POST",),
        data={"reason": "spam"},
    ),
    # Hiding, showing, keeping a post of A: A's team and N's coordinator; others 404.
    "community:moderate": Entry(
        "/community/moderate/skill/{reported_post}/",
        {**MEMBERS_TEAM, "staff_a": ALLOWED, "manager_a": ALLOWED, "coordinator": ALLOWED},
        method="POST",
        data={"action": "hide", "reason": "Spam"},
    ),
    "community:moderation": Entry("/community/places/{place}/moderation/", MEMBERS_TEAM),
    "community:notifications": Entry(
        "/community/notifications/", SIGNED_IN, also=("POST",), data={"frequency": "daily"}
    ),
    # ---- Community API: reports, moderation, news ----
    "api-1:community_report": Entry(
        "/api/v1/community/reports",
        API_SIGNED_IN_WRITE,
        method="POST",
        data={"kind": "skill", "id": "{reported_post}", "reason": "spam"},
    ),
    # A's reports: its team and N's coordinator; people of A 403; others 404.
    "api-1:community_reports": Entry(
        "/api/v1/community/reports?place={place}", {**API_EVENTS_MANAGE}
    ),
    # Moderating a post of A: A's team; anyone else who can read the (public) post 403.
    "api-1:community_hide": Entry(
        "/api/v1/community/moderation/skill/{reported_post}/hide",
        {**everyone(403), "anonymous": 401, "staff_a": 200, "manager_a": 200, "coordinator": 200},
        method="POST",
        data={"reason": "Spam"},
    ),
    "api-1:community_show": Entry(
        "/api/v1/community/moderation/skill/{reported_post}/show",
        {**everyone(403), "anonymous": 401, "staff_a": 409, "manager_a": 409, "coordinator": 409},
        method="POST",
    ),
    "api-1:community_keep": Entry(
        "/api/v1/community/moderation/skill/{reported_post}/keep",
        {**everyone(403), "anonymous": 401, "staff_a": 200, "manager_a": 200, "coordinator": 200},
        method="POST",
    ),
    "api-1:community_my_notifications": Entry(
        "/api/v1/community/me/notifications", {**everyone(200), "anonymous": 401}
    ),
    "api-1:community_my_settings": Entry(
        "/api/v1/community/me/notification-settings", {**everyone(200), "anonymous": 401}
    ),
    "api-1:community_my_settings_update": Entry(
        "/api/v1/community/me/notification-settings",
        {**everyone(200), "anonymous": 401},
        method="PUT",
        data={"frequency": "daily"},
    ),
    # ---- Place archives (maillage.archives; docs/place-archive.md) ----
    # Managers of A and N's coordinator; anyone else 404. POST queues an export (redirect).
    "archives:place": Entry("/archives/places/{place}/", MANAGE, also=("POST",)),
    "archives:download": Entry("/archives/places/{place}/{archive}/download/", MANAGE),
    # ---- Impact statistics (maillage.impact.views, funders_views; docs/impact.md) ----
    # Open data: the list of what anyone may download.
    "impact:open_data": Entry("/impact/open-data/", PUBLIC),
    # A place's statistics, CSV and report: its team and N's coordinator; others 404 (N does not
    # publish its statistics in this world; tests/impact cover the published case).
    "impact:place": Entry("/impact/places/{place}/", MEMBERS_TEAM),
    "impact:place_csv": Entry("/impact/places/{place}/figures.csv", MEMBERS_TEAM),
    "impact:place_report": Entry("/impact/places/{place}/report/", MEMBERS_TEAM),
    "impact:place_report_pdf": Entry("/impact/places/{place}/report/pdf/", MEMBERS_TEAM),
    # A network's statistics, CSV and report: its coordinators only; others 404.
    "impact:network": Entry("/impact/networks/{network}/", COORDINATE),
    "impact:network_csv": Entry("/impact/networks/{network}/figures.csv", COORDINATE),
    "impact:network_report": Entry("/impact/networks/{network}/report/", COORDINATE),
    "impact:network_report_pdf": Entry("/impact/networks/{network}/report/pdf/", COORDINATE),
    # ---- Impact statistics in the API (maillage.impact.api) ----
    # A's statistics: A's team and N's coordinator; A's member 403 (knows A); B's manager 404.
    "api-1:place_statistics": Entry("/api/v1/places/{place}/statistics", API_EVENTS_MANAGE),
    # N's statistics: N's coordinator; people with a role in one of N's places 403; others 404.
    "api-1:network_statistics": Entry(
        "/api/v1/networks/{network}/statistics",
        {**everyone(403), "anonymous": 401, "manager_b": 404, "coordinator": 200},
    ),
    # ---- Privacy: one's own data (maillage.privacy; docs/privacy.md) ----
    "privacy:mine": Entry("/privacy/", SIGNED_IN),
    "privacy:export": Entry("/privacy/export.zip", SIGNED_IN),
    # The POST carries a wrong password: it must not erase anyone of the world. Signed-in roles
    # get 400 (form refused) or 409 (manager_a / manager_b are the only managers of their place:
    # erasure refused until they hand over); neither is a refusal of access.
    "privacy:erase": Entry(
        "/privacy/erase/",
        SIGNED_IN,
        also=("POST",),
        data={"password": "not the password", "confirmation": "no"},
    ),
    "api-1:get_my_data": Entry("/api/v1/me/data", {**everyone(200), "anonymous": 401}),
}

# Routes covered by a rule rather than one entry each. The admin: superusers only; every other
# role, signed in or not, is sent to the admin's login page. The test requests a sample built
# from the admin site (index, each registered model's list, add page and one change page).
PREFIX_RULES: dict[str, dict[str, object]] = {
    "admin/": {**everyone(ADMIN_LOGIN), "superuser": 200},
}

# The same URLs once place A is unpublished (being prepared, or closed): only those who may edit
# it see it, and nothing tells anybody else that it exists.
UNPUBLISHED_STAFF = {**everyone(404), "staff_a": 200, "manager_a": 200, "coordinator": 200}
UNPUBLISHED: dict[str, Entry] = {
    # Its page: the manager of A and the coordinator of N; anybody else, A's members too, 404.
    "places:detail": Entry(
        "/places/{place}/", {**everyone(404), "manager_a": 200, "coordinator": 200}
    ),
    # Proposing a correction: only published places are open to the public's corrections.
    "places:correct": Entry("/places/{place}/correct/", everyone(404)),
    # The API's read shows published places only, whoever asks.
    "api-1:get_place": Entry("/api/v1/places/{place}", everyone(404)),
    # The API's edit: as for a published place (its managers prepare it before publishing).
    "api-1:update_place": MATRIX["api-1:update_place"],
    # Its resources, calendar and feeds: the place's staff only (they prepare them).
    "bookings:resource": Entry("/bookings/resources/{resource}/", UNPUBLISHED_STAFF),
    "bookings:calendar": Entry("/bookings/places/{place}/calendar/", UNPUBLISHED_STAFF),
    "bookings:resource_feed": Entry("/bookings/feeds/resources/{resource}.ics", UNPUBLISHED_STAFF),
    "bookings:place_feed": Entry("/bookings/feeds/places/{place}.ics", UNPUBLISHED_STAFF),
    "api-1:get_resource": Entry(
        "/api/v1/resources/{resource}", {**everyone(404), "manager_a": 200, "coordinator": 200}
    ),
    # The door keeps working while the place is out of the directory.
    "members:kiosk": Entry("/members/kiosk/{kiosk_token}/", PUBLIC),
    # The members of an unpublished place, who is there and checking in: its people (those with
    # a role in it, those who may edit it); anybody else 404.
    "members:place_directory": Entry(
        "/members/places/{place}/", {**MEMBERS_PEOPLE, "anonymous": 404}
    ),
    "members:here": Entry("/members/places/{place}/here/", MEMBERS_PEOPLE),
    "members:self_checkin": Entry(
        "/members/places/{place}/checkin/",
        MEMBERS_PEOPLE,
        also=("POST",),
        data={"action": "checkin"},
    ),
    # A post of an unpublished place: its author and the place's people (those with a role in
    # it, those who may edit it); anybody else 404.
    "community:exchange_post": Entry(
        "/community/skills/{skill}/", {**MEMBERS_PEOPLE, "anonymous": 404}
    ),
    "api-1:get_skill_post": Entry(
        "/api/v1/community/skills/{skill}",
        {**everyone(200), "anonymous": 404, "manager_b": 404},
    ),
    "community:board_place": Entry("/community/places/{place}/board/", _BOARD_A_PEOPLE),
    "community:board_post": Entry("/community/board/{opportunity}/", _BOARD_A_PEOPLE),
    # Feeds list what anonymous visitors see: nothing of an unpublished place.
    "community:board_feed": Entry("/community/board/feed.rss?place={place}", everyone(404)),
    "community:board_reply": Entry(
        "/community/board/{opportunity}/reply/",
        {**everyone(ALLOWED), "anonymous": LOGIN, "manager_b": 404},
        method="POST",
        data={"body": "Je peux aider, écrivez-moi."},
    ),
    "api-1:list_opportunities": Entry(
        "/api/v1/community/opportunities?place={place}", _BOARD_A_PEOPLE
    ),
    "api-1:get_opportunity": Entry(
        "/api/v1/community/opportunities/{opportunity}", _BOARD_A_PEOPLE
    ),
    "community:givebox_item": Entry(
        "/community/givebox/{item}/",
        {**everyone(200), "anonymous": 404, "manager_b": 404},
    ),
    "api-1:get_item": Entry(
        "/api/v1/community/items/{item}",
        {**everyone(200), "anonymous": 404, "manager_b": 404},
    ),
    # Putting an item in at A: as published, but B's manager no longer knows A: 404.
    "api-1:create_item": Entry(
        "/api/v1/community/items",
        {
            "anonymous": 401,
            "member_a": 201,
            "staff_a": 201,
            "manager_a": 201,
            "manager_b": 404,
            "coordinator": 201,
        },
        method="POST",
        data={"place": "{place}", "mode": "give", "title": "Livres pour enfants"},
    ),
    "community:ideas": Entry("/community/places/{place}/ideas/", everyone(404)),
    "community:idea": Entry("/community/ideas/{idea}/", everyone(404)),
    "community:ideas_new": Entry(
        "/community/places/{place}/ideas/new/",
        {**everyone(404), "anonymous": LOGIN},
        also=("POST",),
        data={"title": "Une idée de la matrice", "body": "Pour voir qui peut la poster."},
    ),
    "community:idea_vote": Entry(
        "/community/ideas/{idea}/vote/",
        {**everyone(404), "anonymous": LOGIN},
        method="POST",
        data={"action": "vote"},
    ),
    "community:idea_answer": Entry(
        "/community/ideas/{idea}/answer/",
        {**everyone(404), "anonymous": LOGIN},
        method="POST",
        data={"status": "planned", "answer": "Prévu pour le printemps."},
    ),
    "api-1:list_ideas": Entry("/api/v1/community/ideas?place={place}", everyone(404)),
    "api-1:get_idea": Entry("/api/v1/community/ideas/{idea}", everyone(404)),
    "api-1:create_idea": Entry(
        "/api/v1/community/ideas",
        {**everyone(404), "anonymous": 401},
        method="POST",
        data={"place": "{place}", "title": "Une idée", "body": "Pour la matrice."},
    ),
    "api-1:vote_idea": Entry(
        "/api/v1/community/ideas/{idea}/vote",
        {**everyone(404), "anonymous": 401},
        method="POST",
    ),
    "api-1:unvote_idea": Entry(
        "/api/v1/community/ideas/{idea}/vote",
        {**everyone(404), "anonymous": 401},
        method="DELETE",
    ),
    "api-1:answer_idea": Entry(
        "/api/v1/community/ideas/{idea}/answer",
        {**everyone(404), "anonymous": 401},
        method="POST",
        data={"status": "planned", "answer": "Prévu pour le printemps."},
    ),
}
