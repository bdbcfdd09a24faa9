from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("uploads", "0001_initial"),
    ]

    operations = [
        # Uploads made before consent was asked were already in the public quiz: they stay shared
        # (their uploaders can unshare them on "My uploads"); new ones start unshared.
        migrations.AddField(
            model_name="upload",
            name="shared",
            field=models.BooleanField(default=True),
        ),
        migrations.AlterField(
            model_name="upload",
            name="shared",
            field=models.BooleanField(default=False),
        ),
    ]
