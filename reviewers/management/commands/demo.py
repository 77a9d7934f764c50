import secrets

import segno
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from reviewers.provisioning import create_desk, create_reviewer, set_reward_officer
from tipline import codenames

USERNAME = "demo"


class Command(BaseCommand):
    help = (
        "Create a demo desk and a demo reviewer for trying Tipline locally, and print the "
        "reviewer's credentials. Never run this on a server that takes real tips."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--code",
            action="store_true",
            help="print the demo reviewer's current TOTP code and exit",
        )

    def handle(self, code, **options):
        if settings.PUBLIC:
            raise CommandError("run it in the back office: TIPLINE_SITE=backoffice")
        credentials = settings.DATA_DIR / "demo-credentials.txt"
        if code:
            device = TOTPDevice.objects.filter(user__username=USERNAME).first()
            if device is None:
                raise CommandError("no demo reviewer yet: run `manage.py demo` first")
            self.stdout.write(format(totp(device.bin_key), "06d"))
            return
        create_desk("demo", "Demo desk", "A desk for trying Tipline. Do not send real tips.")
        if not get_user_model().objects.filter(username=USERNAME).exists():
            password = secrets.token_urlsafe(12)
            passphrase = " ".join(secrets.choice(codenames.word_list()) for _ in range(5))
            reviewer = create_reviewer(USERNAME, password, passphrase, ["demo"])
            # Also the reward officer, so that the demo questionnaire asks for a reward contact.
            set_reward_officer(USERNAME)
            text = (
                "Demo reviewer for the local back office (http://127.0.0.1:8001/)\n"
                f"username:        {USERNAME}\n"
                f"password:        {password}\n"
                f"key passphrase:  {passphrase}\n"
                f"TOTP URI:        {reviewer.otpauth_uri}\n"
                "Current TOTP code: python manage.py demo --code (TIPLINE_SITE=backoffice)\n"
            )
            credentials.touch(mode=0o600)
            credentials.write_text(text)
            segno.make(reviewer.otpauth_uri).terminal(out=self.stdout, compact=True)
        if not credentials.exists():
            raise CommandError(
                f"the demo reviewer exists but {credentials} is gone; delete "
                "the data dir to start over"
            )
        self.stdout.write(credentials.read_text())
        self.stdout.write(f"(kept in {credentials}, readable only by you)")
