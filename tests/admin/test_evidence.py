"""Admin: snapshots, checks and evidence states are listed and shown read-only."""

from __future__ import annotations

from annotations import services
from annotations.models import SourceCheck, SourceEvidence, SourceSnapshot
from tests.admin.helpers import admin_url
from tests.evidence_base import EvidenceTestCase
from tests.factories import make_user
from tests.services.import_base import _loopback_only  # noqa: F401  (autouse: loopback only)


class EvidenceAdminTests(EvidenceTestCase):
    def test_it_shows_evidence_rows_read_only(self) -> None:
        self.cite(self.reviewer_a)
        services.sources_check()
        root = make_user("root", is_staff=True, is_superuser=True)
        self.client.force_login(root)
        for model in (SourceSnapshot, SourceCheck, SourceEvidence):
            with self.subTest(model=model.__name__):
                obj = model.objects.get()
                self.assertEqual(self.client.get(admin_url(model, "changelist")).status_code, 200)
                page = self.client.get(admin_url(model, "change", obj.pk))
                self.assertEqual(page.status_code, 200)
                self.assertNotContains(page, 'name="_save"')
                self.assertEqual(self.client.get(admin_url(model, "add")).status_code, 403)
