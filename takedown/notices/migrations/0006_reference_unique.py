"""Notice references are unique (and a new notice gets a random one)."""

from django.db import migrations, models

import takedown.notices.models


class Migration(migrations.Migration):

    dependencies = [
        ("notices", "0005_fill_references"),
    ]

    operations = [
        migrations.AlterField(
            model_name="notice",
            name="reference",
            field=models.CharField(
                default=takedown.notices.models.new_notice_reference,
                max_length=16,
                unique=True,
                verbose_name="reference",
            ),
        ),
    ]
