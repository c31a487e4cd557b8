"""Every table, imported in one place so Alembic and the app see the whole schema."""
from .accounts.models import ApiToken, Role, User  # noqa: F401
from .archives.models import Household, Member, ProtectionCategory, Relation  # noqa: F401
from .audit.models import AuditEntry, AuditVerification  # noqa: F401
from .lists.models import (CreditCheck, OrderCompliance, Procedure, ProcedureStep,  # noqa: F401
                           RectificationOrder, WatchEntry)
from .notices.models import Notice  # noqa: F401
from .platform.models import OutboxEvent  # noqa: F401
from .records.models import Decision, Determination, Evidence, Record, RecordRepair, Revocation  # noqa: F401
from .scoring.models import CreditState  # noqa: F401
from .stats.models import JobRun  # noqa: F401
from .appeals.models import (Objection, ObjectionMaterial, ObjectionProposal, ObjectionReview,  # noqa: F401
                             Restoration, RevocationDecision, RevocationProposal, RepairApplication,
                             RepairMaterial, RepairStep, RepairProposal, RepairReview, CorrectionProposal,
                             CorrectionDecision)
from .reports.models import Document, DocumentCounter, ReportBatch, ReportBatchItem  # noqa: F401
from .workbench.models import ExportRequest  # noqa: F401
from .imports.models import ImportBatch  # noqa: F401
