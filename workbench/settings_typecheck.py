"""Settings for the type checker only.

mypy's Django plugin (django-stubs) imports the settings to learn the installed apps and
models. These are ``workbench.settings`` with DEBUG on, so that a bare ``mypy`` needs no
SECRET_KEY nor any other variable. They refuse to load anywhere but inside mypy: never
serve with them.
"""

import os
import sys

from django.core.exceptions import ImproperlyConfigured

if "mypy_django_plugin" not in sys.modules:
    raise ImproperlyConfigured(
        "workbench.settings_typecheck is for mypy only; use workbench.settings."
    )

os.environ["DEBUG"] = "1"

from workbench.settings import *  # noqa: F403
