"""Readable names of audit actions and of the objects they touch, for the archive history and the audit trail.

Every action code the code base writes has a label here (tests/audit/test_trail_page.py collects them from the
source); a code without one shows as itself.
"""
from __future__ import annotations

from flask_babel import lazy_gettext as _l

ACTION_LABELS = {
    "household.create": _l("Archive created"),
    "import.check": _l("Import file checked"),
    "import.confirm": _l("Import confirmed"),
    "import.finish": _l("Import finished"),
    "import.cancel": _l("Import dropped"),
    "household.update": _l("Archive updated"),
    "household.read": _l("Archive viewed"),
    "household.activation_issued": _l("Activation code issued"),
    "household.activated": _l("Household account activated"),
    "household.activation_failed": _l("Wrong activation code"),
    "record.create": _l("Behaviour recorded"),
    "record.evidence": _l("Evidence added"),
    "record.determine": _l("Record determined"),
    "record.revoke": _l("Record revoked"),
    "record.revocation_proposed": _l("Revocation proposed"),
    "record.revocation_decided": _l("Revocation decided"),
    "record.correction_proposed": _l("Correction proposed"),
    "record.correction_decided": _l("Correction decided"),
    "record.correct": _l("Record corrected"),
    "record.repair": _l("Record repaired"),
    "record.read": _l("Record viewed"),
    "records.pending_rebuilt": _l("Pending records rebuilt"),
    "records.confirmed_rebuilt": _l("Confirmed state of records rebuilt"),
    "evidence.read": _l("Evidence viewed"),
    "credit.read": _l("Credit viewed"),
    "credit.check": _l("Credit check"),
    "credit.expire": _l("Scores refreshed for ended use periods"),
    "credit.rebuild": _l("Scores and tiers rebuilt"),
    "notice.issue": _l("Notice issued"),
    "notice.open": _l("Notice read by the household"),
    "notice.read": _l("Notice viewed"),
    "notices.read": _l("Notices viewed"),
    "document.issue": _l("Document issued"),
    "document.render": _l("Document rendered"),
    "report.issue": _l("Credit report issued"),
    "report.read": _l("Credit report viewed"),
    "records.read": _l("Records viewed"),
    "objection.file": _l("Objection filed"),
    "objection.assign": _l("Objection assigned to a handler"),
    "objection.propose": _l("Objection: handler's proposal"),
    "objection.decide": _l("Objection decided"),
    "objection.restore": _l("Objection: record restored"),
    "revocation.restore": _l("Revocation: credit restored"),
    "document.supersede": _l("Document superseded"),
    "report_batch.create": _l("Report batch started"),
    "report_batch.download": _l("Report batch downloaded"),
    "report_batch.finish": _l("Report batch finished"),
    "objection.read": _l("Objection viewed"),
    "objections.read": _l("Objections viewed"),
    "repair.apply": _l("Credit repair applied for"),
    "repair.assign": _l("Repair application assigned to a handler"),
    "repair.incomplete": _l("Repair application: materials incomplete"),
    "repair.completed": _l("Repair application: materials completed"),
    "repair.accepted": _l("Repair application accepted"),
    "repair.extended": _l("Repair application: time extended"),
    "repair.propose": _l("Repair application: handler's proposal"),
    "repair.decide": _l("Repair application decided"),
    "repair.read": _l("Repair application viewed"),
    "repairs.read": _l("Repair applications viewed"),
    "materials.read": _l("Objection or repair materials viewed"),
    "orders.read": _l("Rectification orders viewed"),
    "procedures.read": _l("Procedures viewed"),
    "lists.read": _l("Lists viewed"),
    "history.read": _l("Change history viewed"),
    "watch.enter": _l("Entered the watch list"),
    "watch.end": _l("Left the watch list"),
    "watch.update": _l("Watch-list entry changed"),
    "watch.remove": _l("Watch-list entry withdrawn"),
    "order.issue": _l("Rectification order issued"),
    "order.comply": _l("Compliance recorded"),
    "procedure.open": _l("Joint-punishment procedure opened"),
    "procedure.opened": _l("Procedure: opened"),
    "procedure.publicity": _l("Procedure: publicity"),
    "procedure.listed": _l("Procedure: listed"),
    "procedure.ended": _l("Procedure ended"),
    "procedure.attach": _l("Ground attached to the open procedure"),
    "procedure.rebuild": _l("Procedure schedule rebuilt from its steps"),
    "platform.retry": _l("Platform message queued again"),
    "platform.repair": _l("Platform messages repaired"),
    "platform.dead_letter": _l("Platform message dead-lettered"),
    "login": _l("Logged in"),
    "logout": _l("Logged out"),
    "user.create": _l("Account created"),
    "user.update": _l("Account changed"),
    "user.activated": _l("Staff account activated"),
    "user.activation_failed": _l("Wrong staff activation code"),
    "user.password_changed": _l("Password changed"),
    "user.password_reset": _l("Password reset by a supervisor"),
    "user.deactivate": _l("Account deactivated"),
    "token.create": _l("API token issued"),
    "token.revoke": _l("API token revoked"),
    "audit.verify": _l("Audit chain verified"),
    "demo.load": _l("Demo data loaded"),
    "demo.credit": _l("Demo credit history loaded"),
}

# What an entry's object is: `object_type` → a label taking the object's id.
OBJECT_LABELS = {
    "household": _l("Household #%(id)s"),
    "record": _l("Record #%(id)s"),
    "evidence": _l("Evidence #%(id)s"),
    "notice": _l("Notice #%(id)s"),
    "document": _l("Document #%(id)s"),
    "objection": _l("Objection #%(id)s"),
    "repair": _l("Repair application #%(id)s"),
    "rectification_order": _l("Rectification order #%(id)s"),
    "procedure": _l("Procedure #%(id)s"),
    "watch_entry": _l("Watch-list entry #%(id)s"),
    "credit_check": _l("Credit check #%(id)s"),
    "credit_state": _l("Credit state #%(id)s"),
    "outbox_event": _l("Platform message #%(id)s"),
    "user": _l("Account #%(id)s"),
    "api_token": _l("API token #%(id)s"),
    "export_request": _l("Export request #%(id)s"),
    "report_batch": _l("Report batch #%(id)s"),
    "import": _l("Excel import #%(id)s"),
    "list": _l("List %(id)s"),
}
# …and one without an id (a job over many households, the demo, the trail itself).
OBJECT_KINDS = {
    "credit_state": _l("Credit states"),
    "record": _l("Records"),
    "demo": _l("Demo data"),
    "audit": _l("Audit trail"),
}


def action_label(action: str):
    return ACTION_LABELS.get(action, action)


def object_label(object_type: str, object_id) -> str:
    if object_id is None:
        return str(OBJECT_KINDS.get(object_type, object_type))
    label = OBJECT_LABELS.get(object_type)
    return str(label % {"id": object_id}) if label is not None else f"{object_type} #{object_id}"
