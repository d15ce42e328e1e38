"""Sources belong to a project and to their citer (issue "Security round 2", finding 1).

Until now a source was one global row per normalized URL, keeping the first citer's typed
URL and title for everyone who cited the same page later, in any project. Each existing
row is split by who cites it, without losing a citation:

* the row stays with its creator, in the project where they cited it (their typed URL,
  title and dates are theirs);
* every other (project, reviewer) citing the page gets a row of its own holding only the
  normalized URL, and their citations point at it: nothing the creator typed reaches them;
* a row nobody cites stays with its creator in their first project; one whose creator
  belongs to no project (it carried no evidence) is dropped.

The reverse merges the rows back into one per normalized URL (the oldest row survives).
"""

from django.db import migrations


def split_sources(apps, schema_editor):
    Source = apps.get_model("annotations", "Source")
    Citation = apps.get_model("annotations", "Citation")
    Membership = apps.get_model("annotations", "Membership")

    def first_project(user_id):
        if user_id is None:
            return None
        memberships = Membership.objects.filter(user_id=user_id).order_by("id")
        return memberships.values_list("project_id", flat=True).first()

    for source in Source.objects.order_by("pk"):
        owners = list(
            Citation.objects.filter(source=source)
            .values_list("verdict__claim__project_id", "verdict__reviewer_id")
            .order_by("verdict__claim__project_id", "verdict__reviewer_id")
            .distinct()
        )
        kept = next((owner for owner in owners if owner[1] == source.created_by_id), None)
        for project_id, reviewer_id in owners:
            if (project_id, reviewer_id) == kept:
                continue
            row = Source.objects.create(
                project_id=project_id,
                url=source.normalized_url,
                normalized_url=source.normalized_url,
                created_by_id=reviewer_id,
            )
            Source.objects.filter(pk=row.pk).update(created_at=source.created_at)
            Citation.objects.filter(
                source=source,
                verdict__claim__project_id=project_id,
                verdict__reviewer_id=reviewer_id,
            ).update(source=row)
        project_id = kept[0] if kept else first_project(source.created_by_id)
        if project_id is None:
            source.delete()  # nothing cites it any more, and its creator has no project
            continue
        source.project_id = project_id
        source.save(update_fields=["project"])


def merge_sources(apps, schema_editor):
    Source = apps.get_model("annotations", "Source")
    Citation = apps.get_model("annotations", "Citation")
    survivors = {}
    for source in Source.objects.order_by("pk"):
        survivor = survivors.setdefault(source.normalized_url, source)
        if survivor.pk != source.pk:
            Citation.objects.filter(source=source).update(source=survivor)
            source.delete()


class Migration(migrations.Migration):
    # Data only: on PostgreSQL a table cannot be altered in the transaction that updated
    # its rows' foreign keys (pending trigger events), so the schema steps are 0004 and 0006.
    dependencies = [
        ("annotations", "0004_source_project"),
    ]

    operations = [
        migrations.RunPython(split_sources, merge_sources),
    ]
