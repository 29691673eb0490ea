"""The consented hash feed's models, moved from the platforms app without moving their tables."""

import django.db.models.deletion
import takedown.core.fields
from django.db import migrations, models


def _rename_content_types(old_app: str, new_app: str, models: list[str]):  # type: ignore[no-untyped-def]
    """Keep the content types (and the admin permissions on them) of models that changed app."""

    def forwards(apps, schema_editor):  # type: ignore[no-untyped-def]
        content_type = apps.get_model("contenttypes", "ContentType")
        for model in models:
            if not content_type.objects.filter(app_label=new_app, model=model).exists():
                content_type.objects.filter(app_label=old_app, model=model).update(app_label=new_app)

    def backwards(apps, schema_editor):  # type: ignore[no-untyped-def]
        content_type = apps.get_model("contenttypes", "ContentType")
        for model in models:
            if not content_type.objects.filter(app_label=old_app, model=model).exists():
                content_type.objects.filter(app_label=new_app, model=model).update(app_label=old_app)

    return forwards, backwards


MOVED = _rename_content_types("platforms", "cases", ["feedentry", "feedcounter"])


class Migration(migrations.Migration):

    dependencies = [
        ("cases", "0003_face_templates_and_review"),
        ("platforms", "0001_initial"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [
        # The tables stay where they are (the models keep their old table names): only Django's
        # idea of which app owns them changes, so no data moves and no lock is taken.
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name='FeedCounter',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('last_change_id', models.BigIntegerField(default=0)),
                    ],
                    options={
                        'db_table': 'platforms_feedcounter',
                    },
                ),
                migrations.CreateModel(
                    name='FeedEntry',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('change_id', models.BigIntegerField(unique=True)),
                        ('public_id', models.CharField(max_length=40, unique=True)),
                        ('signal', models.CharField(max_length=16)),
                        ('status', models.CharField(choices=[('active', 'Active'), ('withdrawn', 'Withdrawn')], db_index=True, max_length=16)),
                        ('case_id', models.BigIntegerField(blank=True, db_index=True, null=True)),
                        ('value', takedown.core.fields.EncryptedTextField(blank=True, null=True)),
                        ('value_digest', models.CharField(blank=True, db_index=True, max_length=64)),
                        ('held_at', models.DateTimeField(blank=True, null=True)),
                        ('hold_cleared_at', models.DateTimeField(blank=True, null=True)),
                        ('updated_at', models.DateTimeField()),
                        ('registered_hash', models.OneToOneField(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='feed_entry', to='cases.registeredhash')),
                    ],
                    options={
                        'verbose_name_plural': 'feed entries',
                        'db_table': 'platforms_feedentry',
                        'ordering': ['change_id'],
                    },
                ),
            ],
            database_operations=[],
        ),
        migrations.RunPython(*MOVED),
    ]
