"""The web UI, one module per screen of ``workbench/ui/`` (``workbench/ui/urls.py``)."""
