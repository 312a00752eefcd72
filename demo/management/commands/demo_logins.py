from django.core.management.base import BaseCommand

from demo.services import DEMO_PASSWORD, demo_logins


class Command(BaseCommand):
    help = "Print the URL and the demo logins (used by make run)."

    def add_arguments(self, parser):
        parser.add_argument("--url", default="http://127.0.0.1:8000/")

    def handle(self, *args, url, **options):
        self.stdout.write(self.style.SUCCESS(f"\n  Customer Success Platform is running at {url}\n"))
        logins = demo_logins()
        if not logins:
            self.stdout.write("  No demo users in this database; create one with manage.py createsuperuser.\n")
            return
        self.stdout.write(f"  Demo logins (password {DEMO_PASSWORD}):")
        for username, role in logins:
            self.stdout.write(f"    {username:<14} {role}")
        self.stdout.write("\n  Press Ctrl-C to stop the web server, the worker and beat.\n")
