from django.db import migrations

from campaigns import vocabularies as vocab


def add_rows(apps, schema_editor):
    Platform = apps.get_model("campaigns", "Platform")
    InterferenceTool = apps.get_model("campaigns", "InterferenceTool")
    for code in vocab.Platform.values:
        Platform.objects.get_or_create(code=code)
    for code in vocab.InterferenceTool.values:
        InterferenceTool.objects.get_or_create(code=code)


class Migration(migrations.Migration):
    dependencies = [("campaigns", "0001_initial")]

    operations = [migrations.RunPython(add_rows, migrations.RunPython.noop)]
