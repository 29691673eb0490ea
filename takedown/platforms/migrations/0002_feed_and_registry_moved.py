"""The feed moved to the cases app and the registry to its own app; this app now points at them."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ("cases", "0004_feed_moves_here"),
        ("platforms", "0001_initial"),
        ("registry", "0001_initial"),
    ]

    operations = [
        # The tables stay where they are (the models keep their old table names): only Django's
        # idea of which app owns them changes, so no data moves and no lock is taken.
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.DeleteModel(
                    name='FeedCounter',
                ),
                migrations.AlterField(
                    model_name='hashfeedback',
                    name='entry',
                    field=models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='feedback', to='cases.feedentry'),
                ),
                migrations.AlterField(
                    model_name='platformaccount',
                    name='platform',
                    field=models.OneToOneField(on_delete=django.db.models.deletion.PROTECT, related_name='api_account', to='registry.platform'),
                ),
                migrations.DeleteModel(
                    name='FeedEntry',
                ),
            ],
            database_operations=[],
        ),
    ]
