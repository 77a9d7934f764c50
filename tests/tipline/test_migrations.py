"""Upgrades are forward-safe: the code running during a migration keeps working.

During an upgrade the old release still serves while the new one's migrations run (see
docs/operations.md). So a migration may add tables, nullable or defaulted columns, indexes and
constraints, but never drops or renames what the previous release reads: a column is dropped
one release after the code stops using it, listed in LATER_DROPS with the release that stopped.
And the models never drift from the migrations.
"""

from io import StringIO

import pytest
from django.core.management import call_command
from django.db import migrations, models
from django.db.migrations.loader import MigrationLoader

# Independent of the database the suite runs against: run once (bin/test: PostgreSQL pass).
pytestmark = pytest.mark.once

OUR_APPS = ("tipline", "reviewers")
BREAKING = (
    migrations.RemoveField,
    migrations.DeleteModel,
    migrations.RenameField,
    migrations.RenameModel,
    migrations.AlterModelTable,
)
# (app, migration name): why the previous release no longer reads what it drops.
LATER_DROPS: dict[tuple[str, str], str] = {}
# Migrations before these added NOT NULL columns with Python-side defaults only, which an older
# release could not insert into during the upgrade; from these on, such a column takes a
# database default (`db_default`).
RULE_STARTS = {"tipline": 12, "reviewers": 5}


def our_migrations():
    loader = MigrationLoader(None, ignore_no_migrations=True)
    for (app, name), migration in sorted(loader.disk_migrations.items()):
        if app in OUR_APPS:
            yield app, name, migration


def test_no_migration_breaks_the_release_before_it():
    problems = []
    for app, name, migration in our_migrations():
        if (app, name) in LATER_DROPS:
            continue
        created = {
            op.name.lower() for op in migration.operations if isinstance(op, migrations.CreateModel)
        }
        for operation in migration.operations:
            if isinstance(operation, BREAKING):
                problems.append(f"{app}.{name}: {operation.describe()}")
            if (
                isinstance(operation, migrations.AddField)
                and operation.model_name_lower not in created
                and int(name[:4]) >= RULE_STARTS[app]
            ):
                field = operation.field
                # A Python-side default does not help the older release's INSERTs: only NULL,
                # a database default or a table of its own (many-to-many) does.
                safe = (
                    field.null
                    or isinstance(field, models.ManyToManyField)
                    or getattr(field, "db_default", models.NOT_PROVIDED) is not models.NOT_PROVIDED
                )
                if not safe:
                    problems.append(f"{app}.{name}: {operation.describe()} is NOT NULL, no default")
            if isinstance(operation, migrations.RunPython) and not operation.reversible:
                problems.append(f"{app}.{name}: RunPython without a reverse")
    assert not problems, problems


def test_the_models_match_the_migrations(db):
    out = StringIO()
    call_command("makemigrations", *OUR_APPS, "--check", "--dry-run", stdout=out)
