"""The platform registry moved to its own app; notices now point at it."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ("notices", "0002_delivery_escalation"),
        ("platforms", "0002_feed_and_registry_moved"),
        ("registry", "0001_initial"),
    ]

    operations = [
        # The tables stay where they are (the models keep their old table names): only Django's
        # idea of which app owns them changes, so no data moves and no lock is taken.
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name='notice',
                    name='platform',
                    field=models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='notices', to='registry.platform'),
                ),
                migrations.RemoveField(
                    model_name='platformchannel',
                    name='platform',
                ),
                migrations.RemoveField(
                    model_name='platformdomain',
                    name='platform',
                ),
                migrations.AlterField(
                    model_name='deliveryattempt',
                    name='platform_channel',
                    field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to='registry.platformchannel'),
                ),
                migrations.DeleteModel(
                    name='Platform',
                ),
                migrations.DeleteModel(
                    name='PlatformDomain',
                ),
                migrations.DeleteModel(
                    name='PlatformChannel',
                ),
            ],
            database_operations=[],
        ),
    ]
