"""Screenshots of every section, as a user sees them: desktop and phone width, English
and Chinese. Run against a server with the demo data (make run), e.g.
    .venv/bin/python scripts/screenshots.py --base http://127.0.0.1:8000 --out var/shots
"""

import argparse
from pathlib import Path

from playwright.sync_api import sync_playwright

PAGES = [
    ("my-work", "/playbooks/my-work/"),
    ("accounts", "/accounts/"),
    ("account", None),  # the first account of the list
    ("handovers", "/handovers/"),
    ("renewals", "/renewals/"),
    ("playbooks", "/playbooks/"),
    ("dashboards", "/dashboards/"),
    ("alerts", "/health/alerts/"),
    ("account-new", "/accounts/new/"),  # managers and admins; others see a 404
    ("import", "/accounts/import/"),  # managers and admins; others see a 404
    ("paths", "/playbooks/paths/"),
    ("know-how", "/playbooks/know-how/"),
    ("best-practices", "/playbooks/best-practices/"),
]
SIZES = {"desktop": {"width": 1366, "height": 900}, "phone": {"width": 390, "height": 844}}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--base", default="http://127.0.0.1:8000")
    parser.add_argument("--out", default="var/shots")
    parser.add_argument("--user", action="append", default=[])
    parser.add_argument("--password", default="demo12345")
    parser.add_argument("--page", action="append", default=[], help="only these pages (names above)")
    parser.add_argument("--url", action="append", default=[], help="extra page as name=/path/ (e.g. a plan)")
    args = parser.parse_args()
    pages = [p for p in PAGES if not args.page or p[0] in args.page]
    pages += [tuple(extra.split("=", 1)) for extra in args.url]
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path="/usr/bin/chromium",
            args=["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        for user in args.user or ["csm", "manager"]:
            for lang in ("en", "zh-hans"):
                for size_name, viewport in SIZES.items():
                    context = browser.new_context(base_url=args.base, viewport=viewport)
                    context.add_cookies([{"name": "django_language", "value": lang, "url": args.base}])
                    page = context.new_page()
                    page.goto("/login/")
                    page.fill("input[name=username]", user)
                    page.fill("input[name=password]", args.password)
                    page.click("button[type=submit].primary")
                    page.wait_for_load_state("networkidle")
                    for name, path in pages:
                        if path is None:
                            page.goto("/accounts/")
                            page.click("table.data tbody tr:first-child a")
                        else:
                            page.goto(path)
                        page.wait_for_load_state("networkidle")
                        page.wait_for_timeout(300)
                        page.screenshot(path=out / f"{user}-{name}-{lang}-{size_name}.png", full_page=True)
                    context.close()
        browser.close()
    print(f"screenshots in {out}/")


if __name__ == "__main__":
    main()
