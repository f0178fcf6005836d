"""The expert's archive (档案): the whole history of one expert, kept for life (retired and
removed experts included), as one page and a PDF export.

Sections: applications and their versions, review decisions with opinions, specialties over time,
invitations and answers (closed projects only), sessions (closed only), ratings, facts, credit
events, sanctions, objections, training and fees. Nothing of an open project appears: a draw's
invitations and a session's rows join the archive at the project's close, which is what the
visibility table's closed column allows. Who reads it: the expert (their own), and reviewers
and supervisors whose department covers the expert; every reading and every export is audited.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from flask_babel import gettext as _
from fpdf import FPDF
from sqlalchemy import select
from sqlalchemy.orm import Session

from expertpool.accounts.models import User
from expertpool.core import audit
from expertpool.core.calendar import CST
from expertpool.core.errors import NotFound
from expertpool.core.keys import KeyStore
from expertpool.core.tokens import ExpertTokens
from expertpool.draws.models import Draw
from expertpool.experts.models import (
    ApplicationVersion,
    ChangeStatus,
    Expert,
    PendingChange,
    ReviewDecision,
)
from expertpool.fees.models import FeeLine, FeeStatement
from expertpool.notifications.models import InvitationRecord
from expertpool.projects.models import Project
from expertpool.record import credit, sanctions
from expertpool.record.credit_rules import CreditRules
from expertpool.record.models import Fact, Rating
from expertpool.rooms.models import EvaluationSession
from expertpool.rooms.report import FONT_PATH, HEADINGS
from expertpool.rooms.sessions import sessions_of
from expertpool.training.models import TrainingCourse, TrainingRecord


@dataclass(frozen=True)
class Section:
    """One part of the archive: a title, a header row and rows of text."""

    key: str
    title: str
    header: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]


@dataclass(frozen=True)
class Archive:
    """An expert's archive as built at one moment."""

    expert: Expert
    built_at: datetime
    credit_now: int
    sections: tuple[Section, ...]


def _d(at: datetime | date | None) -> str:
    if at is None:
        return ""
    if isinstance(at, datetime):
        return at.astimezone(CST).strftime("%Y-%m-%d %H:%M")
    return at.isoformat()


def may_read(session: Session, user: User, expert: Expert) -> bool:
    """The expert themself, or a reviewer or supervisor whose department covers the expert."""
    return (expert.user_id is not None and expert.user_id == user.id) or sanctions.covers(
        session, user, expert
    )


def readable_expert(session: Session, user: User, expert_id: int) -> Expert:
    """The expert whose archive `user` may read, else NotFound."""
    expert = session.get(Expert, expert_id)
    if expert is None or not may_read(session, user, expert):
        raise NotFound()
    return expert


def _closed(project: Project | None) -> bool:
    return project is not None and project.status.is_closed


def build(
    session: Session, expert: Expert, keys: KeyStore, rules: CreditRules, *, now: datetime
) -> Archive:
    """Gather every section of the expert's archive."""
    sections: list[Section] = []
    versions = list(
        session.execute(
            select(ApplicationVersion)
            .where(ApplicationVersion.expert_id == expert.id)
            .order_by(ApplicationVersion.number)
        ).scalars()
    )
    sections.append(
        Section(
            "applications",
            _("Applications and versions"),
            (_("Version"), _("Submitted"), _("Title"), _("Employer")),
            tuple(
                (
                    str(v.number),
                    _d(v.submitted_at),
                    str(s.get("title", "")),
                    str(s.get("employer_name", "")),
                )
                for v in versions
                for s in [json.loads(v.snapshot)]
            ),
        )
    )
    decisions = session.execute(
        select(ReviewDecision, User.username)
        .join(User, User.id == ReviewDecision.reviewer_id)
        .where(ReviewDecision.expert_id == expert.id)
        .order_by(ReviewDecision.decided_at)
    ).all()
    sections.append(
        Section(
            "reviews",
            _("Reviews and opinions"),
            (_("Decided"), _("Reviewer"), _("Decision"), _("Version"), _("Opinion")),
            tuple(
                (_d(r.decided_at), name, r.decision, str(r.application_number or ""), r.opinion)
                for r, name in decisions
            ),
        )
    )
    specialties: list[tuple[str, ...]] = [
        (
            _d(v.submitted_at),
            _("application version %(n)d", n=v.number),
            ", ".join(json.loads(v.snapshot).get("specialties") or []),
        )
        for v in versions
    ]
    for change in session.execute(
        select(PendingChange)
        .where(PendingChange.expert_id == expert.id, PendingChange.status == ChangeStatus.APPROVED)
        .order_by(PendingChange.decided_at)
    ).scalars():
        codes = json.loads(change.payload).get("specialties")
        if codes:
            specialties.append((_d(change.decided_at), _("approved change"), ", ".join(codes)))
    specialties.append(("", _("now"), ", ".join(s.code for s in expert.specialties)))
    sections.append(
        Section(
            "specialties",
            _("Specialties over time"),
            (_("When"), _("Source"), _("Specialties")),
            tuple(specialties),
        )
    )
    token = ExpertTokens(keys).token(expert.id)
    invitations = []
    for inv, project in session.execute(
        select(InvitationRecord, Project)
        .join(Draw, Draw.draw_id == InvitationRecord.draw_id)
        .join(Project, Project.id == Draw.project_id)
        .where(InvitationRecord.expert_token == token)
        .order_by(InvitationRecord.created_at)
    ).all():
        if _closed(project):
            invitations.append(
                (
                    _d(inv.created_at),
                    project.code,
                    inv.draw_id,
                    inv.state.value,
                    _d(inv.answered_at),
                    inv.withdrawal_reason or "",
                )
            )
    sections.append(
        Section(
            "invitations",
            _("Invitations and answers (closed projects)"),
            (
                _("Invited"),
                _("Project"),
                _("Draw"),
                _("Answer"),
                _("Answered"),
                _("Withdrawal reason"),
            ),
            tuple(invitations),
        )
    )
    sessions_rows = []
    if expert.user_id is not None:
        owner = session.get(User, expert.user_id)
        if owner is not None:
            for row, role in sessions_of(session, owner, keys):
                of = session.get(Project, row.project_id) if row.project_id else None
                if _closed(of) or (of is None and row.phase == "archived"):
                    sessions_rows.append(
                        (_d(row.starts_at), row.room_id, row.title, role, row.phase)
                    )
    sections.append(
        Section(
            "sessions",
            _("Sessions (closed)"),
            (_("Start"), _("Room"), _("Title"), _("Role"), _("Phase")),
            tuple(sessions_rows),
        )
    )
    ratings = []
    if expert.user_id is not None:
        for r, title in session.execute(
            select(Rating, EvaluationSession.title)
            .join(EvaluationSession, EvaluationSession.id == Rating.session_id)
            .where(Rating.user_id == expert.user_id, Rating.posted_at.is_not(None))
            .order_by(Rating.id)
        ).all():
            ratings.append(
                (
                    title,
                    r.rater_role.value,
                    str(r.punctuality),
                    str(r.competence),
                    str(r.fairness),
                    str(r.discipline),
                    r.comment,
                )
            )
    sections.append(
        Section(
            "ratings",
            _("Ratings"),
            (
                _("Session"),
                _("Rater"),
                _("Punctuality"),
                _("Competence"),
                _("Fairness"),
                _("Discipline"),
                _("Comment"),
            ),
            tuple(ratings),
        )
    )
    facts = session.execute(
        select(Fact).where(Fact.expert_id == expert.id).order_by(Fact.occurred_at)
    ).scalars()
    sections.append(
        Section(
            "facts",
            _("Facts recorded"),
            (_("When"), _("Fact"), _("Detail"), _("Set aside")),
            tuple((_d(f.occurred_at), f.kind.value, f.detail, f.waived_reason) for f in facts),
        )
    )
    sections.append(
        Section(
            "credit",
            _("Credit events"),
            (_("Day"), _("Rule"), _("Points"), _("Rules version"), _("Note")),
            tuple(
                (_d(e.occurred_on), e.rule, f"{e.points:+d}", str(e.rules_version), e.note)
                for e in credit.events_of(session, expert.id)
            ),
        )
    )
    sections.append(
        Section(
            "sanctions",
            _("Sanctions"),
            (
                _("Proposed"),
                _("Kind"),
                _("Status"),
                _("Reason"),
                _("Last day"),
                _("Decision"),
                _("Evidence"),
            ),
            tuple(
                (
                    _d(s.proposed_at),
                    s.kind.value,
                    s.status.value,
                    s.reason,
                    _d(s.ends_on),
                    s.decision,
                    s.evidence_name,
                )
                for s in sanctions.sanctions_of(session, expert.id)
            ),
        )
    )
    sections.append(
        Section(
            "objections",
            _("Objections"),
            (_("Made"), _("Objection"), _("Status"), _("Decision")),
            tuple(
                (_d(o.created_at), o.text, o.status.value, o.decision)
                for o in sanctions.objections_of(session, expert.id)
            ),
        )
    )
    training = session.execute(
        select(TrainingRecord, TrainingCourse)
        .join(TrainingCourse, TrainingCourse.id == TrainingRecord.course_id)
        .where(TrainingRecord.expert_id == expert.id)
        .order_by(TrainingRecord.completed_on)
    ).all()
    sections.append(
        Section(
            "training",
            _("Training"),
            (_("Completed"), _("Course"), _("Hours"), _("Source")),
            tuple((_d(t.completed_on), c.title, str(t.hours), t.source) for t, c in training),
        )
    )
    fees = []
    if expert.user_id is not None:
        for line, st in session.execute(
            select(FeeLine, FeeStatement)
            .join(FeeStatement, FeeStatement.id == FeeLine.statement_id)
            .where(FeeLine.user_id == expert.user_id)
            .order_by(FeeLine.id)
        ).all():
            fees.append(
                (
                    _d(st.evaluation_on),
                    st.title,
                    str(line.minutes),
                    f"{line.gross_fen / 100:.2f}",
                    f"{line.net_fen / 100:.2f}",
                    line.status.value,
                )
            )
    sections.append(
        Section(
            "fees",
            _("Fees"),
            (_("Evaluation day"), _("Session"), _("Minutes"), _("Gross"), _("Net"), _("Status")),
            tuple(fees),
        )
    )
    return Archive(
        expert=expert,
        built_at=now,
        credit_now=credit.score(session, expert.id, now.astimezone(CST).year, rules),
        sections=tuple(sections),
    )


def audit_name(keys: KeyStore, expert: Expert) -> str:
    """How audit entries of archive readings name the expert: a keyed pseudonym (the same for
    every reading, resolved by the application), so the trail does not list, while draws are
    sealed, whose archives were read (docs/record.md)."""
    return ExpertTokens(keys).pseudonym("archive", expert.id)


def record_reading(
    session: Session, user: User, expert: Expert, keys: KeyStore, *, via: str
) -> None:
    """Audit one reading of the archive; commits."""
    audit.record(
        session,
        actor=user.username,
        action="record.archive_read",
        object_type="expert_archive",
        object_id=audit_name(keys, expert),
        after={"via": via},
    )
    session.commit()


def render_pdf(archive: Archive) -> bytes:
    """The archive as a PDF (CJK font embedded)."""
    expert = archive.expert
    pdf = FPDF(orientation="L", format="A4")
    pdf.set_creator("expertpool")
    pdf.set_title(f"评标专家档案 {expert.name}")
    pdf.set_creation_date(archive.built_at)
    pdf.add_font("cjk", fname=str(FONT_PATH))
    pdf.set_auto_page_break(auto=True, margin=12)
    pdf.add_page()
    pdf.set_font("cjk", size=16)
    pdf.multi_cell(0, 9, f"评标专家档案：{expert.name}", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("cjk", size=10)
    for line in (
        f"专家编号 {expert.id}　状态 {expert.status.value}　职称 {expert.title}",
        f"当年信用分 {archive.credit_now}　导出日期 {archive.built_at.astimezone(CST):%Y-%m-%d}",
    ):
        pdf.multi_cell(0, 6, line, new_x="LMARGIN", new_y="NEXT")
    for section in archive.sections:
        pdf.ln(3)
        pdf.set_font("cjk", size=12)
        pdf.multi_cell(0, 8, section.title, new_x="LMARGIN", new_y="NEXT")
        pdf.set_font("cjk", size=8)
        if not section.rows:
            pdf.multi_cell(0, 6, "（无）", new_x="LMARGIN", new_y="NEXT")
            continue
        with pdf.table(text_align="LEFT", line_height=5, headings_style=HEADINGS) as table:
            table.row(list(section.header))
            for cells in section.rows:
                table.row([str(c) for c in cells])
    return bytes(pdf.output())


def export_pdf(
    session: Session,
    user: User,
    expert: Expert,
    keys: KeyStore,
    rules: CreditRules,
    *,
    now: datetime,
) -> bytes:
    """The archive's PDF, its export audited with the PDF's digest; commits."""
    pdf = render_pdf(build(session, expert, keys, rules, now=now))
    audit.record(
        session,
        actor=user.username,
        action="record.archive_exported",
        object_type="expert_archive",
        object_id=audit_name(keys, expert),
        after={"pdf_sha256": hashlib.sha256(pdf).hexdigest()},
    )
    session.commit()
    return pdf


def section_rows(archive: Archive) -> dict[str, Any]:
    """Sections by key (for tests and the page)."""
    return {s.key: s for s in archive.sections}
