"""The web UI (``workbench/ui/``): one module per screen or view module, by ``ui/urls.py``."""
