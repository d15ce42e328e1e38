"""The reviewer web UI's URLs (namespace ``workbench``), gathered from the ui modules."""

from workbench.ui import importing, reading, reviewing, revisions

app_name = "workbench"

urlpatterns = [
    *reading.urlpatterns,
    *reviewing.urlpatterns,
    *importing.urlpatterns,
    *revisions.urlpatterns,
]
