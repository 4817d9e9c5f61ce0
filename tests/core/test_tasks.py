"""Background jobs: emails are sent by a job, in-process by default, by an RQ worker with Redis."""

import os
import smtplib
import subprocess
import sys
from pathlib import Path
from urllib.parse import quote

import django_rq
import pytest
from django.db import connection
from django.utils import translation
from django.utils.translation import gettext
from django_tasks import TaskResultStatus
from django_tasks.signals import task_finished

from maillage import env
from maillage.core import tasks
from maillage.places import services
from maillage.places.models import PlaceProposal
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

LOCALE = Path(__file__).resolve().parents[2] / "src" / "maillage" / "locale"
PAYLOAD = {"name": "La Grange", "town": "Florac", "latitude": 44.3, "longitude": 3.6}
RQ_BACKEND = {"default": {"BACKEND": "django_tasks_rq.RQBackend", "QUEUES": ["default"]}}
WORKER_TIMEOUT = 60  # seconds; a burst worker with one job takes about two


@pytest.fixture
def finished_jobs():
    """(task path, status) of each job the backend ran."""
    finished = []

    def record(sender, task_result, **kwargs):
        finished.append((task_result.task.module_path, task_result.status))

    task_finished.connect(record)
    yield finished
    task_finished.disconnect(record)


def test_approving_mails_the_proposer_in_their_language_through_a_job(
    django_capture_on_commit_callbacks, mailoutbox, finished_jobs, settings
):
    if not (LOCALE / "es" / "LC_MESSAGES" / "django.mo").exists():
        pytest.skip("translations are not compiled (`make test` compiles them)")
    proposer = UserFactory(email="ana@example.org", language="es")
    proposal = services.proposal_submit(
        kind=PlaceProposal.Kind.NEW, payload=PAYLOAD, proposer=proposer
    )

    with translation.override("fr"), django_capture_on_commit_callbacks(execute=True):
        services.proposal_approve(proposal=proposal, reviewer=UserFactory(language="fr"))
        assert (mailoutbox, finished_jobs) == ([], [])

    assert finished_jobs == [("maillage.core.tasks.send_email", TaskResultStatus.SUCCESSFUL)]
    (email,) = mailoutbox
    assert email.to == ["ana@example.org"]
    with translation.override("es"):
        approved = gettext("Your proposal was approved")
    with translation.override("fr"):
        assert approved != gettext("Your proposal was approved")
    assert email.subject == f"[{settings.MAILLAGE_SITE_NAME}] {approved}"
    assert "La Grange" in email.body


def test_a_mail_server_outage_leaves_the_decision_recorded(
    django_capture_on_commit_callbacks, mailoutbox, finished_jobs, monkeypatch
):
    def refused(*args, **kwargs):
        raise smtplib.SMTPConnectError(421, "try again later")

    monkeypatch.setattr(tasks, "send_mail", refused)
    proposal = services.proposal_submit(
        kind=PlaceProposal.Kind.NEW, payload=PAYLOAD, proposer_email="alice@example.org"
    )

    with django_capture_on_commit_callbacks(execute=True):
        services.proposal_reject(proposal=proposal, reviewer=UserFactory(), reason="Twice")

    proposal.refresh_from_db()
    assert proposal.status == PlaceProposal.Status.REJECTED
    assert finished_jobs == [("maillage.core.tasks.send_email", TaskResultStatus.FAILED)]
    assert mailoutbox == []


# With Redis: the job waits in the queue until a worker runs it.


def _worker_environment(tmp_path: Path) -> dict:
    environment = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("MAILLAGE_", "DJANGO_", "DATABASE_URL"))
    }
    environment.update(
        {
            "DJANGO_SETTINGS_MODULE": "maillage.settings",
            "REDIS_URL": env.REDIS_URL,
            "MAILLAGE_TASKS_BACKEND": "rq",
            "MAILLAGE_SECRET_KEY": "worker-under-test",
            "MAILLAGE_SQLITE_PATH": str(tmp_path / "unused.sqlite3"),
            "MAILLAGE_MEDIA_ROOT": str(tmp_path / "media"),
            # MAILLAGE_EMAIL_URL left out: the worker prints emails on its standard output.
        }
    )
    if connection.vendor == "postgresql":  # the test database, although sending needs none
        db = connection.settings_dict
        credentials = quote(db["USER"] or "", safe="")
        if db["PASSWORD"]:
            credentials += ":" + quote(db["PASSWORD"], safe="")
        host, port = db["HOST"] or "127.0.0.1", db["PORT"] or 5432
        environment["DATABASE_URL"] = f"postgres://{credentials}@{host}:{port}/{db['NAME']}"
    return environment


@pytest.fixture
def rq_queue(settings):
    if not env.REDIS_URL:
        pytest.skip("the RQ backend needs Redis: set REDIS_URL (a database of its own, e.g. /12)")
    settings.TASKS = RQ_BACKEND
    queue = django_rq.get_queue("default")
    redis = queue.connection
    assert queue.count == 0, "the test needs an empty queue: REDIS_URL must be a test database"
    yield queue
    keys = list(redis.scan_iter("rq:*"))
    if keys:
        redis.delete(*keys)


def test_with_redis_the_email_waits_in_the_queue_until_a_worker_sends_it(
    django_capture_on_commit_callbacks, mailoutbox, rq_queue, tmp_path, settings
):
    with translation.override("es"):
        proposal = services.proposal_submit(
            kind=PlaceProposal.Kind.NEW, payload=PAYLOAD, proposer_email="alice@example.org"
        )
    with django_capture_on_commit_callbacks(execute=True):
        services.proposal_approve(proposal=proposal, reviewer=UserFactory())

    assert mailoutbox == []
    (job,) = rq_queue.get_jobs()
    assert job.func_name == "maillage.core.tasks.send_email"
    with translation.override("es"):
        subject = f"[{settings.MAILLAGE_SITE_NAME}] {gettext('Your proposal was approved')}"
    assert job.kwargs["subject"] == subject
    assert job.kwargs["recipients"] == ["alice@example.org"]

    worker = subprocess.run(
        [sys.executable, "-m", "maillage", "rqworker", "default", "--burst"],
        env=_worker_environment(tmp_path),
        capture_output=True,
        text=True,
        timeout=WORKER_TIMEOUT,
    )

    assert worker.returncode == 0, worker.stderr
    assert rq_queue.count == 0
    result = tasks.send_email.get_backend().get_result(job.id)
    assert result.status == TaskResultStatus.SUCCESSFUL, worker.stderr
    assert f"Subject: {subject}" in worker.stdout
    assert "To: alice@example.org" in worker.stdout
    assert mailoutbox == []  # sent by the worker, not by this process
