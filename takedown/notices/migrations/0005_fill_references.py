"""Every existing notice gets a random reference (a separate migration: rows are updated here and
the table altered in the next one, which PostgreSQL refuses in one transaction with pending triggers)."""

from django.db import migrations

import takedown.notices.models


def give_references(apps, schema_editor):  # type: ignore[no-untyped-def]
    """Every existing notice gets a random reference (its number was what it showed before)."""
    notice = apps.get_model("notices", "Notice")
    taken: set[str] = set()
    for row in notice.objects.filter(reference__isnull=True).only("pk"):
        reference = takedown.notices.models.new_notice_reference()
        while reference in taken:
            reference = takedown.notices.models.new_notice_reference()
        taken.add(reference)
        notice.objects.filter(pk=row.pk).update(reference=reference)


class Migration(migrations.Migration):

    dependencies = [
        ("notices", "0004_reference_contact_choice_routes"),
    ]

    operations = [
        migrations.RunPython(give_references, migrations.RunPython.noop),
    ]
