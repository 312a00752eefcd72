import time

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from accounts.models import Account
from demo.services import DEMO_PASSWORD, MIN_ACCOUNTS, demo_is_needed, demo_load, demo_logins


class Command(BaseCommand):
    help = "Load realistic demo data (teams, users, accounts, renewals, usage, health, tasks, handovers)."

    def add_arguments(self, parser):
        parser.add_argument(
            "--if-empty", action="store_true", help="Do nothing when the database already has accounts."
        )
        parser.add_argument("--accounts", type=int, default=400, help="Number of accounts (default 400).")
        parser.add_argument("--seed", type=int, default=7, help="Random seed; the same seed gives the same data.")

    def handle(self, *args, **options):
        if not demo_is_needed():
            existing = Account.objects.count()
            if options["if_empty"]:
                self.stdout.write(f"Demo data not loaded: the database already has {existing} accounts.")
                return
            raise CommandError(
                f"The database already has {existing} accounts; demo data loads only into an empty database."
            )
        if options["accounts"] < MIN_ACCOUNTS:
            raise CommandError(f"--accounts must be at least {MIN_ACCOUNTS}.")
        self.stdout.write(f"Loading demo data ({options['accounts']} accounts, seed {options['seed']})...")
        started = time.monotonic()
        try:
            counts = demo_load(seed=options["seed"], accounts=options["accounts"])
        except ValidationError as error:
            raise CommandError(" ".join(error.messages)) from error
        elapsed = time.monotonic() - started
        reused = counts.pop("reused_users")

        self.stdout.write(self.style.SUCCESS(f"Demo data loaded in {elapsed:.1f} s."))
        width = max(len(name) for name in counts)
        for name, value in counts.items():
            self.stdout.write(f"  {name.replace('_', ' '):<{width}}  {value:>8,}")
        self.stdout.write("")
        self.stdout.write(f"Demo logins (password for all: {DEMO_PASSWORD}):")
        width = max(len(username) for username, _label in demo_logins())
        for username, label in demo_logins():
            note = "  (existing user, password unchanged)" if username in reused else ""
            self.stdout.write(f"  {username:<{width}}  {label}{note}")
