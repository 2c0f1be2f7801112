"""Who may use the web app: users, audit boards and server-side sessions.

Three tables sit beside the audit tables of :mod:`tallyguard.store.models`, on the
same declarative ``Base`` (migrations ``0002_accounts`` and ``0003_account_upkeep``):

* ``app_user``: audit admins and jurisdiction managers. A password is kept only
  as an Argon2id hash (RFC 9106, through ``argon2-cffi``); ``failed_logins`` and
  ``locked_until`` throttle guessing: after :data:`MAX_FAILURES` wrong passwords in
  a row an account is locked for :data:`LOCKOUT` (both configurable per call).
  ``must_change_password`` marks a temporary password (set by
  :func:`create_manager` and :func:`reset_manager_password`): its owner must
  choose a password of their own (:func:`change_password`) before anything else.
* ``audit_board``: two members sharing one device. A board joins once, through a
  link carrying a random token (only its SHA-256 is stored) and a passphrase
  (stored as an Argon2id hash); the token is spent by the first correct join.
* ``web_session``: a signed-in user or board. The browser holds a random token;
  the table holds its SHA-256, so a copy of the database does not let anyone
  take over a session. Each session carries its own CSRF token.

Every change that concerns one audit (a manager account and its passwords, a
board, its join links, a board joining) is appended to that audit's hash-chained
event log with the acting user (:func:`append_account_event`). An admin belongs
to no audit, so an admin's own password change is logged nowhere, like the
admin's creation. Times are ISO 8601 text in UTC, like the event log's.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import (
    Boolean,
    ForeignKey,
    Integer,
    Text,
    UniqueConstraint,
    delete,
    false,
    func,
    select,
)
from sqlalchemy.orm import Mapped, Session, mapped_column

from tallyguard.errors import InputError
from tallyguard.store.events import append_event
from tallyguard.store.models import Audit, Base, Event, Jurisdiction

#: The roles of a user account (an audit board is not a user: it has its own table).
USER_ROLES = ("admin", "manager")
#: Wrong passwords in a row that lock an account.
MAX_FAILURES = 5
#: How long a locked account stays locked.
LOCKOUT = timedelta(minutes=15)
#: Wrong passphrases after which a board's join link stops working.
MAX_JOIN_FAILURES = 5
#: The shortest password an admin may choose.
MIN_PASSWORD = 12
#: Event types of the accounts, appended to an audit's log beside the workflow's own.
ACCOUNT_EVENT_TYPES = (
    "account.created",
    "account.password_changed",
    "account.password_reset",
    "board.created",
    "board.joined",
    "board.link_reissued",
)

#: Argon2id with argon2-cffi's defaults (RFC 9106's second recommended option, scaled).
PASSWORD_HASHER = PasswordHasher()

#: The form fields of a password change, as the page names them.
PASSWORD_FIELDS = ("current_password", "new_password", "new_password_again")
#: Why a password change was refused because of the current password (wrong or locked).
WRONG_CURRENT = (
    "The current password is not right, or the account is locked after too many wrong "
    "passwords (it unlocks by itself after a while)."
)

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
# Passphrases: no 0/o, 1/l/i, so they can be read aloud and typed from paper.
_PASSPHRASE_ALPHABET = "23456789abcdefghjkmnpqrstuvwxyz"


class User(Base):
    """An audit admin, or a jurisdiction manager of one audit."""

    __tablename__ = "app_user"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    email: Mapped[str] = mapped_column(Text, unique=True)
    role: Mapped[str] = mapped_column(Text)  # admin | manager
    audit_id: Mapped[int | None] = mapped_column(
        ForeignKey("audit.id", ondelete="CASCADE"), default=None
    )
    jurisdiction: Mapped[str | None] = mapped_column(Text, default=None)  # managers only
    password_hash: Mapped[str] = mapped_column(Text)
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[str | None] = mapped_column(Text, default=None)
    created: Mapped[str] = mapped_column(Text)
    must_change_password: Mapped[bool] = mapped_column(
        Boolean, default=False, server_default=false()
    )


class AuditBoard(Base):
    """An audit board of one audit: two members, a one-time join link and a passphrase."""

    __tablename__ = "audit_board"
    __table_args__ = (UniqueConstraint("audit_id", "name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    audit_id: Mapped[int] = mapped_column(ForeignKey("audit.id", ondelete="CASCADE"))
    jurisdiction: Mapped[str | None] = mapped_column(Text, default=None)
    name: Mapped[str] = mapped_column(Text)
    member_1: Mapped[str] = mapped_column(Text)
    member_2: Mapped[str] = mapped_column(Text)
    join_token_sha256: Mapped[str] = mapped_column(Text, unique=True)
    passphrase_hash: Mapped[str] = mapped_column(Text)
    token_used: Mapped[bool] = mapped_column(Boolean, default=False)
    failed_joins: Mapped[int] = mapped_column(Integer, default=0)
    created: Mapped[str] = mapped_column(Text)


class WebSession(Base):
    """A signed-in user or audit board; the browser's token is stored as its SHA-256."""

    __tablename__ = "web_session"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    token_sha256: Mapped[str] = mapped_column(Text, unique=True)
    user_id: Mapped[int | None] = mapped_column(
        ForeignKey("app_user.id", ondelete="CASCADE"), default=None, index=True
    )
    board_id: Mapped[int | None] = mapped_column(
        ForeignKey("audit_board.id", ondelete="CASCADE"), default=None, index=True
    )
    csrf_token: Mapped[str] = mapped_column(Text)
    created: Mapped[str] = mapped_column(Text)
    last_seen: Mapped[str] = mapped_column(Text)


@dataclass(frozen=True)
class NewBoard:
    """A board just created, with the secrets shown once and never stored in clear."""

    board: AuditBoard
    join_token: str
    passphrase: str


# --- helpers ---------------------------------------------------------------------------


def sha256_text(value: str) -> str:
    """Lowercase hex SHA-256 of a token's UTF-8 bytes (how tokens are stored)."""
    return hashlib.sha256(value.encode("utf-8")).hexdigest()


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat()


def _parse(text: str) -> datetime:
    moment = datetime.fromisoformat(text)
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _verify(hash_text: str, secret: str) -> bool:
    try:
        return PASSWORD_HASHER.verify(hash_text, secret)
    except (VerificationError, InvalidHashError):
        return False


def new_password() -> str:
    """A random temporary password: 16 characters, about 95 bits."""
    return secrets.token_urlsafe(12)


def new_passphrase() -> str:
    """A random board passphrase of four groups of four easy-to-read characters (79 bits)."""
    groups = ("".join(secrets.choice(_PASSPHRASE_ALPHABET) for _ in range(4)) for _ in range(4))
    return "-".join(groups)


def normalise_email(email: str) -> str:
    """The address as stored and looked up: stripped and lower-case."""
    return email.strip().lower()


def append_account_event(
    session: Session,
    audit_id: int,
    type: str,
    payload: Mapping[str, Any],
    actor: str,
    created: datetime,
) -> Event:
    """Append an account event (:data:`ACCOUNT_EVENT_TYPES`) to an audit's hash-chained log.

    No secret ever enters a payload.
    """
    if type not in ACCOUNT_EVENT_TYPES:
        raise ValueError(f"unknown account event type {type!r}")
    when = created.astimezone(UTC).replace(microsecond=0).isoformat()
    return append_event(session, audit_id, type, payload, actor, when)


# --- users -----------------------------------------------------------------------------


def admin_count(session: Session) -> int:
    """How many admin accounts exist."""
    return len(session.scalars(select(User.id).where(User.role == "admin")).all())


def create_admin(session: Session, email: str, password: str, now: datetime) -> User:
    """Create an audit admin.

    Raises:
        InputError: Malformed email, password shorter than :data:`MIN_PASSWORD`,
            or an account with this email exists.
    """
    if len(password) < MIN_PASSWORD:
        raise InputError(
            f"the password has {len(password)} characters; at least {MIN_PASSWORD} are needed.",
            field="password",
            fix="choose a longer password (a passphrase of several words is easiest).",
        )
    return _create_user(session, email, password, "admin", None, None, now)


def _create_user(
    session: Session,
    email: str,
    password: str,
    role: str,
    audit: Audit | None,
    jurisdiction: str | None,
    now: datetime,
    *,
    temporary: bool = False,
) -> User:
    address = normalise_email(email)
    if not _EMAIL.match(address):
        raise InputError(
            f"{email!r} is not an email address.", field="email", fix="write it as name@domain."
        )
    if session.scalars(select(User.id).where(User.email == address)).first() is not None:
        raise InputError(
            f"an account for {address} exists already.",
            field="email",
            fix="each person has one account; use another address.",
        )
    user = User(
        email=address,
        role=role,
        audit_id=None if audit is None else audit.id,
        jurisdiction=jurisdiction,
        password_hash=PASSWORD_HASHER.hash(password),
        failed_logins=0,
        locked_until=None,
        created=_iso(now),
        must_change_password=temporary,
    )
    session.add(user)
    session.flush()
    return user


def create_manager(
    session: Session, audit: Audit, jurisdiction: str, email: str, actor: str, now: datetime
) -> tuple[User, str]:
    """Create the manager account of one jurisdiction of an audit, with a temporary password.

    The account must change the password at its first sign-in (``must_change_password``).

    Returns:
        The user and its temporary password (shown once; only its hash is kept).

    Raises:
        InputError: The jurisdiction is not part of the audit, the email is
            malformed or already has an account.
    """
    found = session.scalars(
        select(Jurisdiction.id).where(
            Jurisdiction.audit_id == audit.id, Jurisdiction.name == jurisdiction
        )
    ).first()
    if found is None:
        raise InputError(
            f"jurisdiction {jurisdiction!r} is not part of audit {audit.name!r}.",
            field="jurisdiction",
            fix="add the jurisdiction first.",
        )
    password = new_password()
    user = _create_user(
        session, email, password, "manager", audit, jurisdiction, now, temporary=True
    )
    append_account_event(
        session,
        audit.id,
        "account.created",
        {"email": user.email, "role": "manager", "jurisdiction": jurisdiction},
        actor,
        now,
    )
    return user, password


def authenticate(
    session: Session,
    email: str,
    password: str,
    now: datetime,
    *,
    max_failures: int = MAX_FAILURES,
    lockout: timedelta = LOCKOUT,
) -> User | None:
    """The user whose email and password these are, or ``None``.

    ``None`` for an unknown email, a wrong password and a locked account alike,
    so a caller cannot tell them apart (a hash is verified in every case, so
    neither can a stopwatch, roughly). A wrong password counts a failure; the
    ``max_failures``-th in a row locks the account for ``lockout``; a right
    password on an unlocked account resets the count.
    """
    user = session.scalars(select(User).where(User.email == normalise_email(email))).first()
    if user is None:
        _verify(_dummy_hash(), password)
        return None
    if check_password(user, password, now, max_failures=max_failures, lockout=lockout):
        return user
    return None


def check_password(
    user: User,
    password: str,
    now: datetime,
    *,
    max_failures: int = MAX_FAILURES,
    lockout: timedelta = LOCKOUT,
) -> bool:
    """Whether ``password`` is the user's, with the lockout accounting of a login.

    A locked account refuses even its right password; a wrong password counts a
    failure and the ``max_failures``-th in a row locks the account for
    ``lockout``; a right password on an unlocked account resets the count (and
    rehashes it if the hasher's parameters changed).
    """
    if is_locked(user, now):
        _verify(user.password_hash, password)
        return False
    if _verify(user.password_hash, password):
        user.failed_logins = 0
        user.locked_until = None
        if PASSWORD_HASHER.check_needs_rehash(user.password_hash):
            user.password_hash = PASSWORD_HASHER.hash(password)
        return True
    user.failed_logins += 1
    user.locked_until = None  # a lock that ran out
    if user.failed_logins >= max_failures:
        user.locked_until = _iso(now + lockout)
        user.failed_logins = 0
    return False


def is_locked(user: User, now: datetime) -> bool:
    """Whether the account is locked at ``now`` after too many wrong passwords."""
    return user.locked_until is not None and _parse(user.locked_until) > now


def change_password(
    session: Session,
    user: User,
    current: str,
    new: str,
    again: str,
    now: datetime,
    *,
    actor: str,
    keep_token: str | None = None,
    max_failures: int = MAX_FAILURES,
    lockout: timedelta = LOCKOUT,
) -> dict[str, str]:
    """Replace a user's password, checking the current one like a login does.

    The new password needs :data:`MIN_PASSWORD` characters, must differ from the
    current one and be typed the same twice. The current password is checked by
    :func:`check_password` even when the new one is refused, so a wrong one always
    counts toward the lockout. On success the password is rehashed,
    ``must_change_password`` cleared, every session of the user but the one of
    ``keep_token`` ended, and, for a manager, ``account.password_changed`` appended
    to the audit's log (an admin has no audit's log).

    Returns:
        The problems by form field (:data:`PASSWORD_FIELDS`); empty when the
        password was changed. The caller commits either way, so that failures count.
    """
    problems: dict[str, str] = {}
    if len(new) < MIN_PASSWORD:
        problems["new_password"] = (
            f"The new password has {len(new)} characters; at least {MIN_PASSWORD} are needed."
        )
    elif new == current:
        problems["new_password"] = "The new password must differ from the current one."
    if again != new:
        problems["new_password_again"] = "The two new passwords differ: type the same one twice."
    if not check_password(user, current, now, max_failures=max_failures, lockout=lockout):
        problems["current_password"] = WRONG_CURRENT
    if problems:
        return problems
    user.password_hash = PASSWORD_HASHER.hash(new)
    user.must_change_password = False
    ended = end_sessions(session, user=user, keep_token=keep_token)
    if user.audit_id is not None:
        append_account_event(
            session,
            user.audit_id,
            "account.password_changed",
            {"email": user.email, "other_sessions_ended": ended},
            actor,
            now,
        )
    return {}


def reset_manager_password(
    session: Session, user: User, actor: str, now: datetime
) -> tuple[str, int]:
    """Give a manager a new temporary password (event ``account.password_reset``).

    The old password stops working, the account must change the new one at its
    next sign-in, its failures and lock are cleared and all its sessions end.

    Returns:
        The temporary password (shown once; only its hash is kept) and how many
        sessions were ended.

    Raises:
        ValueError: ``user`` is not a manager of an audit.
    """
    if user.role != "manager" or user.audit_id is None:
        raise ValueError(f"{user.email} is not a manager of an audit")
    password = new_password()
    user.password_hash = PASSWORD_HASHER.hash(password)
    user.must_change_password = True
    user.failed_logins = 0
    user.locked_until = None
    ended = end_sessions(session, user=user)
    append_account_event(
        session,
        user.audit_id,
        "account.password_reset",
        {"email": user.email, "jurisdiction": user.jurisdiction, "sessions_ended": ended},
        actor,
        now,
    )
    return password, ended


_DUMMY: dict[tuple[int, int, int], str] = {}


def _dummy_hash() -> str:
    """A hash of a random password, with the current hasher's parameters (computed once)."""
    key = PASSWORD_HASHER.time_cost, PASSWORD_HASHER.memory_cost, PASSWORD_HASHER.parallelism
    if key not in _DUMMY:
        _DUMMY[key] = PASSWORD_HASHER.hash(secrets.token_urlsafe(16))
    return _DUMMY[key]


# --- audit boards ----------------------------------------------------------------------


def create_board(
    session: Session,
    audit: Audit,
    name: str,
    members: tuple[str, str],
    actor: str,
    now: datetime,
    jurisdiction: str | None = None,
) -> NewBoard:
    """Create an audit board with a one-time join token and a passphrase.

    Raises:
        InputError: A blank name or member, or a board of that name in the audit.
    """
    name = name.strip()
    member_1, member_2 = (m.strip() for m in members)
    if not name or not member_1 or not member_2:
        raise InputError(
            "an audit board needs a name and two members.",
            field="board",
            fix="fill in the board's name and both members' names.",
        )
    taken = session.scalars(
        select(AuditBoard.id).where(AuditBoard.audit_id == audit.id, AuditBoard.name == name)
    ).first()
    if taken is not None:
        raise InputError(
            f"audit {audit.name!r} has a board named {name!r} already.",
            field="name",
            fix="choose another name, such as the next number.",
        )
    token, passphrase = _join_secrets()
    board = AuditBoard(
        audit_id=audit.id,
        jurisdiction=jurisdiction,
        name=name,
        member_1=member_1,
        member_2=member_2,
        join_token_sha256=sha256_text(token),
        passphrase_hash=PASSWORD_HASHER.hash(passphrase),
        token_used=False,
        failed_joins=0,
        created=_iso(now),
    )
    session.add(board)
    session.flush()
    append_account_event(
        session,
        audit.id,
        "board.created",
        {"board": name, "members": [member_1, member_2], "jurisdiction": jurisdiction},
        actor,
        now,
    )
    return NewBoard(board, token, passphrase)


def _join_secrets() -> tuple[str, str]:
    """A new join token (256 bits) and passphrase."""
    return secrets.token_urlsafe(32), new_passphrase()


def reissue_board_link(
    session: Session, board: AuditBoard, actor: str, now: datetime
) -> tuple[NewBoard, int]:
    """Replace a board's join link and passphrase (event ``board.link_reissued``).

    The old link stops working at once (only the new token's hash is kept), the
    new one works once, wrong passphrases are forgiven, and the board's sessions end:
    the board joins again, from its new device if it lost the old one.

    Returns:
        The board with its new token and passphrase (shown once), and how many
        sessions were ended.
    """
    token, passphrase = _join_secrets()
    board.join_token_sha256 = sha256_text(token)
    board.passphrase_hash = PASSWORD_HASHER.hash(passphrase)
    board.token_used = False
    board.failed_joins = 0
    ended = end_sessions(session, board=board)
    append_account_event(
        session,
        board.audit_id,
        "board.link_reissued",
        {"board": board.name, "jurisdiction": board.jurisdiction, "sessions_ended": ended},
        actor,
        now,
    )
    return NewBoard(board, token, passphrase), ended


def board_for_token(session: Session, token: str) -> AuditBoard | None:
    """The board whose join link this is, if the link is still usable."""
    board = session.scalars(
        select(AuditBoard).where(AuditBoard.join_token_sha256 == sha256_text(token))
    ).first()
    if board is None or board.token_used or board.failed_joins >= MAX_JOIN_FAILURES:
        return None
    return board


def join_board(session: Session, token: str, passphrase: str, now: datetime) -> AuditBoard | None:
    """Spend a board's join link if the passphrase is right; ``None`` otherwise.

    A wrong passphrase counts against the link, which stops working after
    :data:`MAX_JOIN_FAILURES` of them; a right one marks the token used and
    appends ``board.joined`` with the board as actor.
    """
    board = board_for_token(session, token)
    if board is None:
        return None
    if not _verify(board.passphrase_hash, passphrase.strip().lower()):
        board.failed_joins += 1
        return None
    board.token_used = True
    append_account_event(
        session,
        board.audit_id,
        "board.joined",
        {"board": board.name},
        f"board:{board.name}",
        now,
    )
    return board


# --- sessions --------------------------------------------------------------------------


def create_session(
    session: Session, now: datetime, *, user: User | None = None, board: AuditBoard | None = None
) -> tuple[str, WebSession]:
    """Start a session for a user or a board; returns the browser's token and the row."""
    if (user is None) == (board is None):
        raise ValueError("a session belongs to exactly one user or one board")
    token = secrets.token_urlsafe(32)
    row = WebSession(
        token_sha256=sha256_text(token),
        user_id=None if user is None else user.id,
        board_id=None if board is None else board.id,
        csrf_token=secrets.token_urlsafe(32),
        created=_iso(now),
        last_seen=_iso(now),
    )
    session.add(row)
    session.flush()
    return token, row


#: How stale ``last_seen`` may be before a request moves it (see :func:`find_session`).
SEEN_STEP = timedelta(seconds=30)


def find_session(
    session: Session, token: str, now: datetime, *, idle: timedelta, absolute: timedelta
) -> WebSession | None:
    """The live session of a browser token, its ``last_seen`` moved to ``now``.

    A session idle for longer than ``idle``, or older than ``absolute``, is
    deleted and ``None`` returned. ``last_seen`` moves only when it is more than
    :data:`SEEN_STEP` old, so most requests write nothing (idle expiry is exact to
    that step).
    """
    row = session.scalars(
        select(WebSession).where(WebSession.token_sha256 == sha256_text(token))
    ).first()
    if row is None:
        return None
    if now - _parse(row.last_seen) > idle or now - _parse(row.created) > absolute:
        session.delete(row)
        session.flush()
        return None
    if now - _parse(row.last_seen) >= SEEN_STEP:
        row.last_seen = _iso(now)
    return row


def end_session(session: Session, token: str) -> None:
    """Delete the session of a browser token (logging out); nothing if there is none."""
    session.execute(delete(WebSession).where(WebSession.token_sha256 == sha256_text(token)))


def end_sessions(
    session: Session,
    *,
    user: User | None = None,
    board: AuditBoard | None = None,
    keep_token: str | None = None,
) -> int:
    """End every session of one user or one board, but the one of ``keep_token``.

    Returns:
        How many sessions were ended.
    """
    if user is not None and board is None:
        condition = [WebSession.user_id == user.id]
    elif board is not None and user is None:
        condition = [WebSession.board_id == board.id]
    else:
        raise ValueError("give exactly one user or one board")
    if keep_token is not None:
        condition.append(WebSession.token_sha256 != sha256_text(keep_token))
    count = session.scalar(select(func.count()).select_from(WebSession).where(*condition)) or 0
    session.execute(delete(WebSession).where(*condition))
    return count
