from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("tipline", "0009_reviewer_notifications"),
    ]

    operations = [
        migrations.AddField(
            model_name="reviewerkey",
            name="previous_fingerprint",
            field=models.CharField(blank=True, max_length=40),
        ),
    ]
