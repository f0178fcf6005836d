"""All models, imported so that the metadata is complete for Alembic."""

from expertpool.db import Base
from expertpool.models.appointment import Appointment, AppointmentStatus
from expertpool.models.audit import AuditEntry, AuditHead
from expertpool.models.draw import (
    DrawGroup,
    DrawLedgerEntry,
    DrawLedgerHead,
    DrawRequest,
    DrawRequestStatus,
    LedgerKind,
)
from expertpool.models.draw_run import Draw, DrawInvitee, DrawStatus, InviteeStatus
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
from expertpool.models.notification import (
    ContactAttempt,
    Invitation,
    InvitationState,
    OutboxChannel,
    OutboxKind,
    OutboxMessage,
    OutboxStatus,
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
from expertpool.models.room import (
    EvaluationSession,
    RoomChatMessage,
    RoomEventRow,
    RoomParticipant,
)
from expertpool.models.terminal import Seat, SeatBooking, Terminal, Venue
from expertpool.models.user import ApiToken, Centre, Role, User

__all__ = [
    "ApiToken",
    "ApplicationVersion",
    "Appointment",
    "AppointmentStatus",
    "AuditEntry",
    "AuditHead",
    "AvoidanceKind",
    "Base",
    "Bidder",
    "Centre",
    "ChangeStatus",
    "ContactAttempt",
    "Draw",
    "DrawGroup",
    "DrawInvitee",
    "DrawLedgerEntry",
    "DrawLedgerHead",
    "DrawRequest",
    "DrawRequestStatus",
    "DrawStatus",
    "EvaluationSession",
    "EvidenceFile",
    "Expert",
    "ExpertAvoidance",
    "ExpertEmployment",
    "ExpertLeave",
    "ExpertSpecialty",
    "ExpertStatus",
    "Invitation",
    "InvitationState",
    "InviteeStatus",
    "LedgerKind",
    "Lot",
    "OutboxChannel",
    "OutboxKind",
    "OutboxMessage",
    "OutboxStatus",
    "PendingChange",
    "Project",
    "ProjectKind",
    "ProjectStatus",
    "Region",
    "ReviewDecision",
    "Role",
    "RoomChatMessage",
    "RoomEventRow",
    "RoomParticipant",
    "Seat",
    "SeatBooking",
    "SecondaryVenue",
    "Specialty",
    "Terminal",
    "TitleLevel",
    "User",
    "Venue",
]
