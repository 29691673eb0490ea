"""WSGI entry point for gunicorn: `gunicorn takedown.wsgi`."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "takedown.settings")
application = get_wsgi_application()

# Register every app's Celery tasks now, as a worker does at start, rather than lazily on the
# first request that queues one: threads serving the first requests at once would race that.
from takedown.celery import app as _celery_app  # noqa: E402 - needs Django set up above

_celery_app.loader.import_default_modules()
