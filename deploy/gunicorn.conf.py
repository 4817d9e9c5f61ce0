"""gunicorn settings for Maillage: `gunicorn -c deploy/gunicorn.conf.py`.

The values come from the environment through `maillage.env` (the only reader of it):
MAILLAGE_BIND (default 127.0.0.1:$PORT, PORT defaulting to 8000), MAILLAGE_WORKERS (default one
per CPU, at least two) and MAILLAGE_THREADS (default 4). Every thread of every worker keeps its
own PostgreSQL connection: hosts × workers × threads must stay below the server's
max_connections (100 by default). See docs/operations.md.
"""

import multiprocessing

from maillage import env

wsgi_app = "maillage.wsgi:application"
bind = [address.strip() for address in (env.BIND or f"127.0.0.1:{env.PORT}").split(",")]
workers = env.WORKERS or max(2, multiprocessing.cpu_count())
threads = env.THREADS
worker_class = "gthread"
# Longer than MAILLAGE_DB_STATEMENT_TIMEOUT (30 s): the database gives up on a slow query, and
# the request answers 503, before gunicorn would kill the worker.
timeout = 60
graceful_timeout = 30
# Longer than nginx's keepalive_timeout for its connections to us (4 s, deploy/nginx-maillage.conf).
keepalive = 5
# Recycle each worker now and then, staggered, so that no slow leak ever matters.
max_requests = 2000
max_requests_jitter = 200
# Heartbeat files in memory: a slow disk must not make gunicorn think its workers hang.
worker_tmp_dir = "/dev/shm"  # noqa: S108 - gunicorn's own documented advice
proc_name = "maillage"
# Access and error logs on stdout/stderr, hence in the journal under systemd.
accesslog = "-"
errorlog = "-"


def post_worker_init(worker):
    """Import the URLconf (with it every view module) and build its reverse index in each
    language before the worker takes requests: about a second of work that the first visitors of
    each worker would otherwise wait for, every time a worker is recycled (max_requests)."""
    from django.conf import settings
    from django.urls import resolve, reverse
    from django.utils import translation

    resolve("/")
    for code, _name in settings.LANGUAGES:
        with translation.override(code):
            reverse("home")
