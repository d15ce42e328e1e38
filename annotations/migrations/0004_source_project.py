"""Sources get a project (filled in by 0005): the first step of giving every source a
project and an owner. The global uniqueness of the normalized URL goes first, so that
0005 can split a page's row between its citers."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("annotations", "0003_claim_export_index"),
    ]

    operations = [
        migrations.AlterField(
            model_name="source",
            name="normalized_url",
            field=models.CharField(
                help_text="Lower-case host, no tracking parameters or fragment.",
                max_length=2000,
            ),
        ),
        migrations.AddField(
            model_name="source",
            name="project",
            field=models.ForeignKey(
                null=True,
                on_delete=models.deletion.PROTECT,
                related_name="sources",
                to="annotations.project",
            ),
        ),
    ]
