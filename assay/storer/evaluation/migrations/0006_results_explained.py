from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("evaluation", "0005_test_student_message"),
    ]

    operations = [
        migrations.AddField(
            model_name="job",
            name="groups",
            field=models.JSONField(blank=True, default=list),
        ),
        migrations.AddField(
            model_name="job",
            name="progress",
            field=models.JSONField(blank=True, default=dict),
        ),
        migrations.AddField(
            model_name="testresult",
            name="points",
            field=models.FloatField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="testresult",
            name="max_points",
            field=models.FloatField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="testresult",
            name="stderr_head",
            field=models.TextField(blank=True),
        ),
    ]
