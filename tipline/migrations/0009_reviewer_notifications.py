from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("tipline", "0008_closed_at"),
    ]

    operations = [
        migrations.AddField(
            model_name="reviewerprofile",
            name="notify_by_email",
            field=models.BooleanField(
                default=True, help_text="E-mail the reviewer when a tip is assigned to them."
            ),
        ),
        migrations.AddField(
            model_name="reviewerprofile",
            name="notified_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
    ]
