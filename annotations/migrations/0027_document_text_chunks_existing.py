"""Chunks (``DocumentTextChunk``) for the documents longer than ``CHUNK`` stored before
0026. Not atomic: each document's chunks commit on their own, so the table is never held
locked while every long text is read (one document's text in memory at a time). A
derived-data repair: no audit event. The reverse deletes every chunk."""

from django.db import migrations, transaction

# A frozen copy of annotations.core.textchunks.CHUNK when this was written (migrations
# import nothing of the app but its models).
CHUNK = 16_384


def forward(apps, schema_editor):
    Document = apps.get_model("annotations", "Document")
    DocumentTextChunk = apps.get_model("annotations", "DocumentTextChunk")
    long_documents = (
        Document.objects.filter(length__gt=CHUNK)
        .exclude(text_chunks__isnull=False)
        .only("pk")
        .order_by("pk")
    )
    for document_id in long_documents.values_list("pk", flat=True).iterator(chunk_size=500):
        with transaction.atomic():
            text = Document.objects.filter(pk=document_id).values_list("text", flat=True).get()
            DocumentTextChunk.objects.bulk_create(
                [
                    DocumentTextChunk(document_id=document_id, seq=seq, text=text[at : at + CHUNK])
                    for seq, at in enumerate(range(0, len(text), CHUNK))
                ],
                batch_size=20,
            )


def backward(apps, schema_editor):
    apps.get_model("annotations", "DocumentTextChunk").objects.all().delete()


class Migration(migrations.Migration):
    atomic = False  # see the module docstring
    dependencies = [("annotations", "0026_document_text_chunks")]

    operations = [migrations.RunPython(forward, backward)]
