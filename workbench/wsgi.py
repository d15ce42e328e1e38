"""WSGI entry point (gunicorn workbench.wsgi)."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "workbench.settings")
application = get_wsgi_application()

# Build the claim-matching indexes in the background when MATCHING_WARM_UP is on, so the
# first search of a project after a (re)start of this process does not pay for it. Off by
# default: the build (and numpy, scipy, scikit-learn) then waits for a first search.
from annotations.selectors.matching import start_warm_up  # noqa: E402

start_warm_up()
