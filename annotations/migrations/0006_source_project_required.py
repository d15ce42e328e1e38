"""Every source now has a project (0005): require it, and keep one row per project,
owner and normalized URL."""

from django.db import migrations, models
from django.db.models import Q


class Migration(migrations.Migration):
    dependencies = [
        ("annotations", "0005_split_sources_per_project_and_citer"),
    ]

    operations = [
        migrations.AlterField(
            model_name="source",
            name="project",
            field=models.ForeignKey(
                on_delete=models.deletion.PROTECT,
                related_name="sources",
                to="annotations.project",
            ),
        ),
        migrations.AlterField(
            model_name="source",
            name="url",
            field=models.URLField(
                help_text="As its citer typed it (http or https).", max_length=2000
            ),
        ),
        migrations.AlterModelOptions(
            name="source",
            options={"ordering": ["project_id", "normalized_url", "id"]},
        ),
        migrations.AddConstraint(
            model_name="source",
            constraint=models.UniqueConstraint(
                fields=("project", "created_by", "normalized_url"),
                name="annotations_source_unique_per_citer",
            ),
        ),
        migrations.AddConstraint(
            model_name="source",
            constraint=models.UniqueConstraint(
                condition=Q(created_by__isnull=True),
                fields=("project", "normalized_url"),
                name="annotations_source_unique_unowned",
            ),
        ),
    ]
