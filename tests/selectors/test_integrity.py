"""The invariants of selectors/integrity.py on revised documents: a claim is checked
against the text of the revision it is anchored to (the current text, or a kept earlier
one for an orphan), and a native import's one event covers what it brought."""

from __future__ import annotations

from annotations.models import AnchorStatus, Claim, DocumentRevision
from annotations.selectors import integrity
from tests.services.revision_base import RevisionTestCase


def violations(group: str | None = None) -> list[str]:
    return [
        violation.line()
        for name, violation in integrity.integrity_violations()
        if group is None or name == group
    ]


class RevisedDocumentIntegrityTests(RevisionTestCase):
    def test_claims_of_a_revised_document_hold_against_their_own_revision(self) -> None:
        self.revise()
        orphan = Claim.objects.get(pk=self.claims["d"].pk)
        self.assertEqual(orphan.anchor_status, AnchorStatus.ORPHANED)
        self.assertEqual(orphan.anchor_revision, 1)  # refers to the kept earlier text
        self.assertEqual(violations(), [])

    def test_an_orphan_is_compared_with_its_earlier_text(self) -> None:
        self.revise()
        orphan = self.claims["d"]
        Claim.objects.filter(pk=orphan.pk).update(exact="Others agree")  # around the services
        [line] = violations("claim anchors")
        # The row no longer says what its creation event recorded either.
        [recorded] = violations("claims match their events")
        self.assertIn("claim.create", recorded)
        self.assertTrue(
            line.startswith(f"claim {orphan.pk} (document {self.report_doc.pk}): exact matches"),
            line,
        )
        self.assertIn("of revision 1", line)

    def test_a_claim_whose_revision_is_gone_is_named(self) -> None:
        self.revise()
        DocumentRevision.objects.filter(document=self.report_doc, number=1).update(number=7)
        [line] = violations()
        self.assertEqual(
            line,
            f"claim {self.claims['d'].pk} (document {self.report_doc.pk}): anchor revision "
            "exists: found anchor_revision 1; expected the current revision 2 or a kept "
            "earlier one",
        )


class NativeImportIntegrityTests(RevisionTestCase):
    def test_an_imported_document_holds_every_invariant(self) -> None:
        # Its claims and verdicts have no claim.create or verdict.submit event of their own:
        # the import's document.import event records them.
        from annotations import selectors, services
        from tests.factories import judge, make_project, make_user

        judge(self.claims["a"], self.reviewer_a, "false")
        payload = selectors.document_native(document=self.report_doc, user=self.editor)
        importer = make_user("importer")
        target = make_project(creator=importer, name="Restored desk")
        services.document_import_native(project=target, payload=payload, actor=importer)
        self.assertEqual(violations(), [])
