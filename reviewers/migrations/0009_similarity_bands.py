import django.db.models.deletion
import django.utils.timezone
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('reviewers', '0008_watch_lists'),
        ('tipline', '0017_watch_lists'),
    ]

    operations = [
        migrations.CreateModel(
            name='SimilarityBand',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('index', models.PositiveSmallIntegerField()),
                ('digest', models.BinaryField(max_length=32)),
                ('recorded_at', models.DateTimeField(default=django.utils.timezone.now)),
                ('tip', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='similarity', to='tipline.tip')),
            ],
            options={
                'indexes': [models.Index(fields=['digest'], name='similarity_band_digest')],
                'constraints': [models.UniqueConstraint(fields=('tip', 'index'), name='one_band_per_tip_index')],
            },
        ),
    ]
