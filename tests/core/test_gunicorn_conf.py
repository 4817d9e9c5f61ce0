"""deploy/gunicorn.conf.py: a worker loads the app's URLs before taking its first request."""

import os
import subprocess
import sys
from pathlib import Path

GUNICORN_CONF = Path(__file__).resolve().parents[2] / "deploy" / "gunicorn.conf.py"

# Run in a fresh interpreter: this one imported the URLconf long ago.
WORKER = f"""
import runpy, sys
import django

django.setup()
conf = runpy.run_path({str(GUNICORN_CONF)!r})
assert "maillage.urls" not in sys.modules, "loaded too early for the test to mean anything"
conf["post_worker_init"](None)
from django.urls import get_resolver
assert "maillage.urls" in sys.modules and "maillage.bookings.views" in sys.modules
print(sorted(get_resolver()._reverse_dict))  # one reverse index per language code
"""


def test_post_worker_init_loads_the_urls_and_their_reverse_index_in_every_language():
    environment = {**os.environ, "DJANGO_SETTINGS_MODULE": "maillage.settings"}
    done = subprocess.run(
        [sys.executable, "-c", WORKER],
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "['ca', 'en', 'es', 'fr']"
