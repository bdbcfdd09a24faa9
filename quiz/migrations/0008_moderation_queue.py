from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("quiz", "0007_pool_gate_reports_phash"),
    ]

    operations = [
        migrations.CreateModel(
            name="ModerationItem",
            fields=[],
            options={
                "verbose_name": "moderation queue item",
                "verbose_name_plural": "moderation queue (new and reported photos)",
                "proxy": True,
                "indexes": [],
                "constraints": [],
            },
            bases=("quiz.image",),
        ),
    ]
