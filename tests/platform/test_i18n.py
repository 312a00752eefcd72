"""Every string is translatable and the Chinese catalogue is complete."""

import gettext
import re
from pathlib import Path

import pytest

PO = Path(__file__).resolve().parents[2] / "locale/zh_Hans/LC_MESSAGES/django.po"
pytestmark = pytest.mark.django_db


def _entries():
    text = PO.read_text(encoding="utf-8")
    return [block for block in text.split("\n\n")[1:] if "msgid" in block and not block.startswith("#~")]


def test_catalogue_has_no_untranslated_or_fuzzy_entries():
    bad = []
    for block in _entries():
        if "#, fuzzy" in block or re.search(r'msgstr(\[0\])? ""\n?$', block.strip() + "\n"):
            bad.append(block.splitlines()[-2:])
    assert bad == []


def test_compiled_catalogue_matches_the_po():
    with open(PO.with_suffix(".mo"), "rb") as fp:
        mo = gettext.GNUTranslations(fp)
    assert mo.gettext("My work") == "我的工作"
    assert len(mo._catalog) >= len(_entries())


@pytest.mark.parametrize("url", ["/playbooks/my-work/", "/accounts/", "/handovers/", "/renewals/", "/playbooks/",
                                 "/dashboards/", "/health/alerts/"])  # fmt: skip
def test_pages_render_in_chinese(client, csm, url):
    client.force_login(csm)
    client.cookies["django_language"] = "zh-hans"
    body = client.get(url).content.decode()
    assert '<html lang="zh-hans">' in body
    assert "我的工作" in body and "My work" not in body


def test_language_switcher_switches(client, csm):
    client.force_login(csm)
    client.post("/i18n/setlang/", {"language": "zh-hans", "next": "/accounts/"})
    assert "客户" in client.get("/accounts/").content.decode()


def test_chinese_amounts_are_grouped_in_thousands_with_commas():
    from django.template import Context, Template
    from django.utils import translation

    template = Template('{{ arr|floatformat:"0g" }}')
    with translation.override("zh-hans"):
        assert template.render(Context({"arr": 12345678.4})) == "12,345,678"
    with translation.override("en"):
        assert template.render(Context({"arr": 12345678.4})) == "12,345,678"
