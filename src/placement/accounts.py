"""Accounts of the web console: who may sign in, with which role, and their sessions.

One module for every rule about accounts, used by `placement user ...` and by
`placement serve` alike:

- passwords are hashed with argon2id (argon2-cffi's defaults); the password
  itself is never stored or logged, and is read from standard input by the
  command line, never from an argument (it would sit in the shell history);
- a session is a random token; the database keeps its SHA-256 only, with an
  absolute expiry and an idle timeout, and it can be revoked (sign out,
  `user disable`, `user passwd`);
- sign-in attempts are rate-limited per account and per client address, in
  the database so that every worker process counts the same attempts;
- each role's rights are here (``can``), not in the pages.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import Engine, delete, func, select, update

from .db.models import AuditLog, WebLoginAttempt, WebSession, WebSetting, WebUser
from .db.session import transaction, write_session
from .errors import ConfigError, NotFound, PlacementError
from .lookup import suggestion
from .text import refused_in_id, refused_in_text


class Role(StrEnum):
    COORDINATOR = "coordinator"  # imports, solves, approves, records answers and corrects
    EQUALITY_LEAD = "equality-lead"  # reads everything and the internal audit edition; changes nothing
    VIEWER = "viewer"  # reads rounds without special category data, and the publication edition only


class Right(StrEnum):
    CHANGE = "change"  # import, solve, approve, revoke, answers, corrections
    READ_INTERNAL = "read-internal"  # the internal audit edition, the audit log, import and solve pages
    READ = "read"  # the season, rounds, candidates, the publication edition


RIGHTS: dict[Role, frozenset[Right]] = {
    Role.COORDINATOR: frozenset(Right),
    Role.EQUALITY_LEAD: frozenset({Right.READ, Right.READ_INTERNAL}),
    Role.VIEWER: frozenset({Right.READ}),
}


def can(role: str, right: Right) -> bool:
    return right in RIGHTS.get(Role(role), frozenset())


MIN_PASSWORD_LENGTH = 12
SESSION_LIFETIME = timedelta(hours=8)  # a working day; then sign in again
SESSION_IDLE = timedelta(minutes=30)
LAST_SEEN_EVERY = timedelta(seconds=60)  # write last_seen at most this often (one write per request is too many)
ATTEMPT_WINDOW = timedelta(minutes=15)
MAX_FAILURES_PER_ACCOUNT = 5
MAX_FAILURES_PER_CLIENT = 20

_hasher = PasswordHasher()
# Verified when the account does not exist, so an unknown name takes as long as a wrong password.
_DUMMY_HASH = _hasher.hash("placement: no such account")


class AccountError(PlacementError):
    """A bad account name, role or password, or an account that does not exist."""


class SignInRefused(PlacementError):
    """Wrong name or password, a disabled account, or too many attempts."""

    def __init__(self, message: str, fix: str = "", *, throttled: bool = False):
        super().__init__(message, fix)
        self.throttled = throttled


@dataclass(frozen=True)
class Account:
    id: int
    username: str
    full_name: str
    role: str
    disabled: bool

    @property
    def actor(self) -> str:
        """How the audit log names this account (``web:alice``): never confused with an operating-system login."""
        return f"web:{self.username}"

    @property
    def approver(self) -> str:
        """The named person an approval records (UK GDPR Art. 22): the account's full name and its username."""
        return f"{self.full_name} ({self.username})" if self.full_name else self.username


@dataclass(frozen=True)
class SessionInfo:
    token: str  # only returned at sign-in, for the cookie; never stored
    account: Account
    csrf_token: str
    expires_at: datetime
    cohort: str | None = None


def now() -> datetime:
    return datetime.now(UTC)


def _aware(at: datetime) -> datetime:
    return at if at.tzinfo is not None else at.replace(tzinfo=UTC)  # SQLite hands back naive UTC


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _account(u: WebUser) -> Account:
    return Account(u.id, u.username, u.full_name, u.role, u.disabled)


def _check_username(name: str) -> str:
    name = name.strip()
    bad = refused_in_id(name) if name else None
    if not name or bad is not None or len(name) > 100 or any(c.isspace() for c in name):
        raise AccountError(
            f"{name!r} cannot be an account name.",
            "Use up to 100 letters, digits, '.', '-' or '_', with no spaces (e.g. a.smith).",
        )
    return name


def _check_password(password: str) -> str:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise AccountError(
            f"The password is shorter than {MIN_PASSWORD_LENGTH} characters.",
            f"Choose a passphrase of at least {MIN_PASSWORD_LENGTH} characters (several words work well).",
        )
    if len(password) > 1024:
        raise AccountError("The password is longer than 1,024 characters.", "Choose a shorter passphrase.")
    return password


def _check_role(role: str) -> Role:
    try:
        return Role(role)
    except ValueError:
        raise AccountError(f"{role!r} is not a role.", "Use coordinator, equality-lead or viewer.") from None


def _log(s, action: str, detail: str) -> None:
    from .config import os_user

    s.add(AuditLog(at=now(), os_user=os_user(), action=action, detail=detail, cohort_id=None))


def _find(s, username: str) -> WebUser:
    user = s.scalar(select(WebUser).where(WebUser.username == username))
    if user is None:
        known = list(s.scalars(select(WebUser.username)))
        hint = suggestion(username, known)
        raise NotFound(
            f"No account named {username!r}.", f"Did you mean {hint!r}?" if hint else "See `placement user list`."
        )
    return user


# ----------------------------------------------------------------------------- accounts


def add_user(engine: Engine, username: str, role: str, password: str, *, full_name: str = "") -> Account:
    username, r, password = _check_username(username), _check_role(role), _check_password(password)
    full_name = full_name.strip()
    if full_name and (refused_in_text(full_name) is not None or len(full_name) > 200):
        raise AccountError("The full name has a control character or is over 200 characters.", "Type it as plain text.")
    hashed = _hasher.hash(password)
    with write_session(engine) as s:
        if s.scalar(select(WebUser.id).where(WebUser.username == username)) is not None:
            raise AccountError(
                f"An account named {username!r} already exists.",
                f"Choose another name, or change its password: `placement user passwd {username} --password-stdin`.",
            )
        at = now()
        user = WebUser(
            username=username,
            full_name=full_name,
            role=r.value,
            password_hash=hashed,
            disabled=False,
            created_at=at,
            password_changed_at=at,
        )
        s.add(user)
        _log(s, "user", f"account {username} added with role {r.value}")
        s.flush()
        return _account(user)


def list_users(engine: Engine) -> list[Account]:
    with transaction(engine) as s:
        return [_account(u) for u in s.scalars(select(WebUser).order_by(WebUser.username))]


def disable_user(engine: Engine, username: str) -> int:
    """Disable an account and revoke its sessions at once. Returns the number of sessions revoked."""
    with write_session(engine) as s:
        user = _find(s, username)
        user.disabled = True
        revoked = _revoke_all(s, user.id)
        _log(s, "user", f"account {username} disabled; {revoked} sessions revoked")
        return revoked


def enable_user(engine: Engine, username: str) -> None:
    with write_session(engine) as s:
        _find(s, username).disabled = False
        _log(s, "user", f"account {username} enabled")


def set_password(engine: Engine, username: str, password: str) -> int:
    """A new password; every session of the account is revoked. Returns the number revoked."""
    hashed = _hasher.hash(_check_password(password))
    with write_session(engine) as s:
        user = _find(s, username)
        user.password_hash, user.password_changed_at = hashed, now()
        revoked = _revoke_all(s, user.id)
        _log(s, "user", f"password of account {username} changed; {revoked} sessions revoked")
        return revoked


def _revoke_all(s, user_id: int) -> int:
    result = s.execute(
        update(WebSession)
        .where(WebSession.user_id == user_id, WebSession.revoked_at.is_(None))
        .values(revoked_at=now())
    )
    return int(result.rowcount or 0)


# ----------------------------------------------------------------------------- signing in


def sign_in(engine: Engine, username: str, password: str, *, client: str) -> SessionInfo:
    """Check the password and open a session; refused (rate-limited) after too many recent failures."""
    username = username.strip()[:100]
    client = client[:100]
    since = now() - ATTEMPT_WINDOW
    with transaction(engine) as s:
        failures = (
            s.scalar(
                select(func.count())
                .select_from(WebLoginAttempt)
                .where(WebLoginAttempt.at >= since, WebLoginAttempt.ok.is_(False), WebLoginAttempt.username == username)
            )
            or 0
        )
        from_client = (
            s.scalar(
                select(func.count())
                .select_from(WebLoginAttempt)
                .where(WebLoginAttempt.at >= since, WebLoginAttempt.ok.is_(False), WebLoginAttempt.client == client)
            )
            or 0
        )
        user = s.scalar(select(WebUser).where(WebUser.username == username))
        stored = user.password_hash if user is not None else _DUMMY_HASH
    if failures >= MAX_FAILURES_PER_ACCOUNT or from_client >= MAX_FAILURES_PER_CLIENT:
        minutes = int(ATTEMPT_WINDOW.total_seconds() // 60)
        raise SignInRefused(
            "Too many failed sign-in attempts.",
            f"Wait {minutes} minutes and try again, or ask a coordinator to reset your password.",
            throttled=True,
        )
    try:
        ok = _hasher.verify(stored, password) and user is not None and not user.disabled
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        ok = False
    with write_session(engine) as s:
        s.add(WebLoginAttempt(at=now(), username=username, client=client, ok=ok))
        if not ok:
            # Which of name or password was wrong is not said: that would tell a guesser which accounts exist.
            # An unknown name is not written down: it is often a password typed in the wrong box.
            who = repr(username) if user is not None else "an unknown account name"
            _log(s, "sign-in", f"refused sign-in for {who} from {client}")
            raise_later = True
        else:
            raise_later = False
            assert user is not None
            token = secrets.token_urlsafe(32)
            at = now()
            row = WebSession(
                id=_digest(token),
                user_id=user.id,
                created_at=at,
                expires_at=at + SESSION_LIFETIME,
                last_seen_at=at,
                revoked_at=None,
                csrf_token=secrets.token_urlsafe(32),
                cohort=None,
            )
            s.add(row)
            _log(s, "sign-in", f"web:{username} signed in from {client}")
            info = SessionInfo(token, _account(user), row.csrf_token, row.expires_at)
            if _hasher.check_needs_rehash(user.password_hash):
                user.password_hash = _hasher.hash(password)
    if raise_later:
        raise SignInRefused(
            "The account name or password is not right.",
            "Check both and try again (names and passwords are case-sensitive).",
        )
    return info


def session_for(engine: Engine, token: str) -> SessionInfo | None:
    """The live session the token opens, or None (unknown, expired, idle too long, revoked, account disabled)."""
    at = now()
    with transaction(engine) as s:
        # Columns, not ORM objects: every page of the web console asks this once.
        row = s.execute(
            select(
                WebSession.revoked_at,
                WebSession.expires_at,
                WebSession.last_seen_at,
                WebSession.csrf_token,
                WebSession.cohort,
                WebUser.id,
                WebUser.username,
                WebUser.full_name,
                WebUser.role,
                WebUser.disabled,
            )
            .join(WebUser, WebUser.id == WebSession.user_id)
            .where(WebSession.id == _digest(token))
        ).first()
        if row is None:
            return None
        if (
            row.revoked_at is not None
            or row.disabled
            or _aware(row.expires_at) <= at
            or _aware(row.last_seen_at) + SESSION_IDLE <= at
        ):
            return None
        account = Account(row.id, row.username, row.full_name, row.role, row.disabled)
        info = SessionInfo("", account, row.csrf_token, _aware(row.expires_at), row.cohort)
        stale = _aware(row.last_seen_at) + LAST_SEEN_EVERY <= at
    if stale:
        with write_session(engine) as s:
            s.execute(update(WebSession).where(WebSession.id == _digest(token)).values(last_seen_at=at))
    return info


def sign_out(engine: Engine, token: str) -> None:
    with write_session(engine) as s:
        row = s.get(WebSession, _digest(token))
        if row is not None and row.revoked_at is None:
            row.revoked_at = now()
            user = s.get(WebUser, row.user_id)
            _log(s, "sign-out", f"web:{user.username if user else '?'} signed out")


def choose_cohort(engine: Engine, token: str, cohort: str | None) -> None:
    with write_session(engine) as s:
        s.execute(update(WebSession).where(WebSession.id == _digest(token)).values(cohort=cohort))


def forget_old(engine: Engine, *, older_than: timedelta = timedelta(days=30)) -> None:
    """Delete sign-in attempts and ended sessions older than ``older_than`` (run at server start)."""
    cut = now() - older_than
    with write_session(engine) as s:
        s.execute(delete(WebLoginAttempt).where(WebLoginAttempt.at < cut))
        s.execute(delete(WebSession).where(WebSession.expires_at < cut))


def cookie_secret(engine: Engine) -> str:
    """The key cookies are signed with: ``PLACEMENT_WEB_SECRET`` if set, else the database's own (made by the
    first server to start, so every worker process, and every restart, signs alike)."""
    import os

    from sqlalchemy.exc import IntegrityError

    secret = os.environ.get("PLACEMENT_WEB_SECRET", "").strip()
    if secret:
        if len(secret) < 32:
            raise ConfigError(
                "PLACEMENT_WEB_SECRET is shorter than 32 characters.",
                "Set it to a long random value, e.g. `python -c 'import secrets; print(secrets.token_hex(32))'`.",
            )
        return secret
    for _ in range(2):
        with transaction(engine) as s:
            stored = s.scalar(select(WebSetting.value).where(WebSetting.key == "cookie_secret"))
        if stored:
            return stored
        try:
            with write_session(engine) as s:
                s.add(WebSetting(key="cookie_secret", value=secrets.token_hex(32)))
        except IntegrityError:  # another worker made it at the same moment: read theirs
            continue
    with transaction(engine) as s:
        return s.scalar(select(WebSetting.value).where(WebSetting.key == "cookie_secret")) or ""
