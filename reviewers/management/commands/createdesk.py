from django.core.management.base import BaseCommand

from reviewers.provisioning import create_desk


class Command(BaseCommand):
    help = "Create a desk (a topic tipsters can report on)."

    def add_arguments(self, parser):
        parser.add_argument("slug")
        parser.add_argument("--name", required=True)
        parser.add_argument("--description", default="")

    def handle(self, slug, name, description, **options):
        desk = create_desk(slug, name, description)
        self.stdout.write(f"Desk {desk.slug!r}: {desk.name}")
