from django.db import migrations


def seed(apps, schema_editor):
    from jiyue.library.vocab import seed as seed_vocab

    seed_vocab(apps.get_model("library", "Classification"))


class Migration(migrations.Migration):
    dependencies = [("library", "0002_initial")]
    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
