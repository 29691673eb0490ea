from django.db import migrations, models

import takedown.core.fields


class Migration(migrations.Migration):
    initial = True
    dependencies: list[tuple[str, str]] = []

    operations = [
        migrations.CreateModel(
            name="SecretNote",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("title", models.CharField(max_length=50)),
                ("body", takedown.core.fields.EncryptedTextField(blank=True, null=True)),
                ("details", takedown.core.fields.EncryptedJSONField(blank=True, null=True)),
            ],
        ),
        migrations.CreateModel(
            name="TaskEffect",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("key", models.CharField(max_length=64, unique=True)),
                ("created_at", models.DateTimeField(auto_now_add=True)),
            ],
        ),
    ]
