"""The built-in first-project success path and the default touch cadences.

The path's four phases follow the first project of a new customer (domain: "First
project"): project start, business process confirmation, system process validation,
delivery and training. Managers may edit it in the browser like any other path."""

from django.db import migrations

FIRST_PROJECT = (
    "First project (首个项目)",
    "A new customer's first project, from kickoff to go-live and the first stage report.",
    "Every new customer after the sales handover",
    [
        ("Project start (项目启动)", [
            ("Read the handover package and call the sales owner", "Know the deal, the promises and the people before meeting the customer.", "csm", 1, "Open questions to sales answered."),
            ("Kickoff meeting (项目启动会)", "Agree goals, scope, roles on both sides and the plan. Invite the decision maker.", "csm", 5, "Goals and plan agreed by the customer's project owner."),
            ("Project group chat created (建群)", "One group with the customer's project team, our CSM and implementation engineer.", "csm", 5, "Everyone on both sides is in the group."),
            ("Kickoff minutes sent (会议纪要)", "Send the minutes with goals, owners and dates within a day of the kickoff.", "csm", 6, "The customer confirmed the minutes."),
        ]),
        ("Business process confirmation (业务流程确认)", [
            ("Process workshops with each department", "Walk through today's process with the people who do it; note exceptions.", "csm", 14, "Every in-scope process is written down."),
            ("Confirm the target process and the configuration", "Map each step of the target process to the product's configuration.", "csm", 21, "The customer signed off the process document."),
        ]),
        ("System process validation (系统流程验证)", [
            ("Configure and load test data", "Configure the agreed process and load real sample data.", "csm", 30, "Sample data runs through the whole process."),
            ("User acceptance test (UAT)", "The key users test each process with their own cases; log and fix findings.", "customer", 40, "UAT report signed; no blocking findings open."),
        ]),
        ("Delivery and training (交付培训)", [
            ("Admin and key-user training", "Train the admins and key users who will train the others.", "csm", 45, "Key users can run every process alone."),
            ("End-user training sessions", "Short sessions per department, recorded for new hires.", "csm", 50, "Attendance recorded for every department."),
            ("Go-live (上线)", "Switch to the new process; be on call the first week.", "csm", 55, "The first week's work runs in the system."),
            ("First stage report (阶段性报告)", "Report goals against what was achieved and agree the next stage with the decision maker.", "csm", 60, "Report sent and the next stage agreed."),
        ]),
    ],
)  # fmt: skip

CADENCES = [
    ("strategic", "check_in", "week", "Weekly check-in", 2),
    ("strategic", "business_review", "quarter", "Quarterly business review", 14),
    ("key", "check_in", "month", "Monthly check-in", 5),
    ("key", "business_review", "quarter", "Quarterly business review", 14),
    ("standard", "check_in", "quarter", "Quarterly check-in", 7),
]


def create(apps, schema_editor):
    SuccessPath = apps.get_model("playbooks", "SuccessPath")
    PathStage = apps.get_model("playbooks", "PathStage")
    PathStep = apps.get_model("playbooks", "PathStep")
    TouchCadence = apps.get_model("playbooks", "TouchCadence")
    name, scenario, segment, stages = FIRST_PROJECT
    path, created = SuccessPath.objects.get_or_create(
        name=name, defaults={"scenario": scenario, "segment": segment, "is_builtin": True}
    )
    if created:
        for i, (stage_name, steps) in enumerate(stages):
            stage = PathStage.objects.create(path=path, order=i, name=stage_name)
            PathStep.objects.bulk_create(
                PathStep(stage=stage, order=j, title=t, guidance=g, owner_role=r, due_offset_days=d, exit_criteria=e)
                for j, (t, g, r, d, e) in enumerate(steps)
            )
    for tier, kind, period, title, lead in CADENCES:
        TouchCadence.objects.get_or_create(
            tier=tier, kind=kind, period=period, defaults={"title": title, "lead_days": lead}
        )


class Migration(migrations.Migration):
    dependencies = [("playbooks", "0002_success_paths_plans_know_how_cadence")]

    operations = [migrations.RunPython(create, migrations.RunPython.noop)]
