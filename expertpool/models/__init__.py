"""All models, imported so that the metadata is complete for Alembic."""

from expertpool.db import Base
from expertpool.models.audit import AuditEntry, AuditHead
from expertpool.models.draw import (
    DrawGroup,
    DrawLedgerEntry,
    DrawLedgerHead,
    DrawRequest,
    DrawRequestStatus,
    LedgerKind,
)
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
from expertpool.models.project import (
    Bidder,
    Lot,
    Project,
    ProjectKind,
    ProjectStatus,
    SecondaryVenue,
)
from expertpool.models.reference import Region, Specialty
from expertpool.models.terminal import Seat, SeatBooking, Terminal, Venue
from expertpool.models.user import ApiToken, Centre, Role, User

__all__ = [
    "ApiToken",
    "ApplicationVersion",
    "AuditEntry",
    "AuditHead",
    "AvoidanceKind",
    "Base",
    "Bidder",
    "Centre",
    "ChangeStatus",
    "DrawGroup",
    "DrawLedgerEntry",
    "DrawLedgerHead",
    "DrawRequest",
    "DrawRequestStatus",
    "EvidenceFile",
    "Expert",
    "ExpertAvoidance",
    "ExpertEmployment",
    "ExpertLeave",
    "ExpertSpecialty",
    "ExpertStatus",
    "LedgerKind",
    "Lot",
    "PendingChange",
    "Project",
    "ProjectKind",
    "ProjectStatus",
    "Region",
    "ReviewDecision",
    "Role",
    "Seat",
    "SeatBooking",
    "SecondaryVenue",
    "Specialty",
    "Terminal",
    "TitleLevel",
    "User",
    "Venue",
]
