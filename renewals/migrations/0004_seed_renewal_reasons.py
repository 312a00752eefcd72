"""The reason taxonomy a CS team starts with (managers add their own in the admin):
why customers renew (domain: product fit, price, service value, executive relationship)
and why they leave."""

from django.db import migrations

RENEW = [
    ("Product fit", "产品匹配"),
    ("Price", "价格"),
    ("Service value", "服务价值"),
    ("Executive relationship", "高层关系"),
]
CHURN = [
    ("Never adopted the product", "产品未用起来"),
    ("Budget cut", "预算削减"),
    ("Moved to a competitor", "转向竞品"),
    ("Missing capability", "功能不满足"),
    ("Price", "价格"),
    ("Poor service experience", "服务体验差"),
    ("Champion or decision maker left", "关键人离职"),
    ("Acquired, merged or closed", "被收购、合并或停业"),
]


def create(apps, schema_editor):
    Reason = apps.get_model("renewals", "RenewalReason")
    for kind, rows in (("renew", RENEW), ("churn", CHURN)):
        for i, (name, name_zh) in enumerate(rows):
            Reason.objects.get_or_create(kind=kind, name=name, defaults={"name_zh": name_zh, "position": i})


class Migration(migrations.Migration):
    dependencies = [("renewals", "0003_renewal_owner_reasons_leads_churn")]
    operations = [migrations.RunPython(create, migrations.RunPython.noop)]
