"""The platform registry's models, moved from the notices app without moving their tables."""

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


MOVED = _rename_content_types("notices", "registry", ["platform", "platformdomain", "platformchannel"])


class Migration(migrations.Migration):

    dependencies = [
        ("notices", "0002_delivery_escalation"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [
        # The tables stay where they are (the models keep their old table names): only Django's
        # idea of which app owns them changes, so no data moves and no lock is taken.
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name='Platform',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('created_at', models.DateTimeField(auto_now_add=True, db_index=True)),
                        ('updated_at', models.DateTimeField(auto_now=True)),
                        ('slug', models.SlugField(max_length=64, unique=True, verbose_name='short name')),
                        ('name', models.CharField(max_length=200, verbose_name='name')),
                        ('serves', models.JSONField(blank=True, default=list, verbose_name='jurisdictions served')),
                        ('supported_bases', models.JSONField(blank=True, default=list, verbose_name='legal bases')),
                        ('stopncii_partner', models.BooleanField(blank=True, null=True, verbose_name='StopNCII partner')),
                        ('confidence', models.CharField(blank=True, max_length=16, verbose_name='confidence of the data')),
                        ('source_url', models.URLField(blank=True, max_length=500, verbose_name='source')),
                        ('notes', models.TextField(blank=True, verbose_name='notes')),
                        ('data_version', models.CharField(blank=True, max_length=32, verbose_name='data version')),
                        ('is_active', models.BooleanField(default=True, verbose_name='active')),
                    ],
                    options={
                        'db_table': 'notices_platform',
                        'ordering': ['name'],
                    },
                ),
                migrations.CreateModel(
                    name='PlatformDomain',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('domain', models.CharField(max_length=255, unique=True, verbose_name='domain')),
                        ('platform', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='domains', to='registry.platform')),
                    ],
                    options={
                        'db_table': 'notices_platformdomain',
                        'ordering': ['domain'],
                    },
                ),
                migrations.CreateModel(
                    name='PlatformChannel',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('kind', models.CharField(choices=[('email', 'Email'), ('web_form', 'Web form'), ('api', 'Partner API'), ('in_app', 'In the app only')], max_length=16, verbose_name='kind')),
                        ('address', models.CharField(max_length=500, verbose_name='email address or URL')),
                        ('bases', models.JSONField(blank=True, default=list, verbose_name='legal bases')),
                        ('fields', models.JSONField(blank=True, default=list, verbose_name='form fields')),
                        ('note', models.CharField(blank=True, max_length=500, verbose_name='note')),
                        ('position', models.PositiveSmallIntegerField(default=0, verbose_name='preference')),
                        ('webhook_secret', takedown.core.fields.EncryptedTextField(blank=True, default='', verbose_name='webhook signing secret')),
                        ('platform', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='channels', to='registry.platform')),
                    ],
                    options={
                        'db_table': 'notices_platformchannel',
                        'ordering': ['platform', 'position', 'id'],
                        'constraints': [models.UniqueConstraint(fields=('platform', 'kind', 'address'), name='platformchannel_unique_address')],
                    },
                ),
            ],
            database_operations=[],
        ),
        migrations.RunPython(*MOVED),
    ]
