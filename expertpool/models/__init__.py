"""All models, imported so that the metadata is complete for Alembic."""

from expertpool.db import Base
from expertpool.models.audit import AuditEntry, AuditHead
from expertpool.models.expert import (
    ApplicationVersion,
    AvoidanceKind,
    ChangeStatus,
    EvidenceFile,
    Expert,
    ExpertAvoidance,
    ExpertEmployment,
    ExpertLeave,
    ExpertSpecialty,
    ExpertStatus,
    PendingChange,
    ReviewDecision,
    TitleLevel,
)
from expertpool.models.reference import Region, Specialty
from expertpool.models.user import ApiToken, Centre, Role, User

__all__ = [
    "ApiToken",
    "ApplicationVersion",
    "AuditEntry",
    "AuditHead",
    "AvoidanceKind",
    "Base",
    "Centre",
    "ChangeStatus",
    "EvidenceFile",
    "Expert",
    "ExpertAvoidance",
    "ExpertEmployment",
    "ExpertLeave",
    "ExpertSpecialty",
    "ExpertStatus",
    "PendingChange",
    "Region",
    "ReviewDecision",
    "Role",
    "Specialty",
    "TitleLevel",
    "User",
]
