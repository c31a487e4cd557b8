"""Readable names of audit actions, for the archive history and the audit trail pages."""
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
    "record.repair": _l("Record repaired"),
    "record.read": _l("Record viewed"),
    "evidence.read": _l("Evidence viewed"),
    "credit.read": _l("Credit viewed"),
    "credit.check": _l("Credit check"),
    "notice.issue": _l("Notice issued"),
    "notice.open": _l("Notice read by the household"),
    "notice.read": _l("Notice viewed"),
    "notices.read": _l("Notices viewed"),
    "records.read": _l("Records viewed"),
    "objections.read": _l("Objections viewed"),
    "repairs.read": _l("Repair applications viewed"),
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
    "procedure.publicity": _l("Procedure: publicity"),
    "procedure.listed": _l("Procedure: listed"),
    "procedure.ended": _l("Procedure ended"),
    "procedure.attach": _l("Ground attached to the open procedure"),
    "procedure.rebuild": _l("Procedure schedule rebuilt from its steps"),
    "login": _l("Logged in"),
    "user.create": _l("Account created"),
    "token.create": _l("API token issued"),
    "logout": _l("Logged out"),
    "user.password_changed": _l("Password changed"),
    "user.deactivate": _l("Account deactivated"),
}


def action_label(action: str):
    return ACTION_LABELS.get(action, action)
