"""Keys on the built-in first-project steps, so that the kickoff (handover app) can
complete "kickoff", "group_chat" and "kickoff_minutes" in a running plan, and accepting a
handover completes "read_handover"."""

from django.db import migrations

KEYS = {
    "Read the handover package and call the sales owner": "read_handover",
    "Kickoff meeting (项目启动会)": "kickoff",
    "Project group chat created (建群)": "group_chat",
    "Kickoff minutes sent (会议纪要)": "kickoff_minutes",
    "Go-live (上线)": "go_live",
    "First stage report (阶段性报告)": "first_stage_report",
}


def set_keys(apps, schema_editor):
    PathStep = apps.get_model("playbooks", "PathStep")
    PlanStep = apps.get_model("playbooks", "PlanStep")
    for title, key in KEYS.items():
        PathStep.objects.filter(stage__path__is_builtin=True, title=title).update(key=key)
        PlanStep.objects.filter(source__stage__path__is_builtin=True, source__title=title).update(key=key)


class Migration(migrations.Migration):
    dependencies = [("playbooks", "0004_pathstep_key_planstep_key")]

    operations = [migrations.RunPython(set_keys, migrations.RunPython.noop)]
