"""An application of a programme paid in parts (两项补贴) may ask for one part or all of them
(empty: all, which is what every earlier application asked for)."""

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('casework', '0008_one_off_request'),
    ]

    operations = [
        migrations.AddField(
            model_name='application',
            name='parts',
            field=models.JSONField(blank=True, default=list, verbose_name='申请的组成部分'),
        ),
    ]
