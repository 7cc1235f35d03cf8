"""One error hierarchy for the whole library.

Every error carries a message that says what went wrong *and* what to do next. The CLI maps
`exit_code` to the process exit status: 2 for anything the user can fix in their input.
"""

from __future__ import annotations


class ReelforgeError(Exception):
    """Base of every error reelforge raises on purpose."""

    exit_code = 1

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return f"{self.message}\n  fix: {self.hint}" if self.hint else self.message

    def __reduce__(self) -> tuple[object, ...]:
        # Errors cross process boundaries (the runtime's process pools). Rebuild them from their
        # attributes: the default pickling calls __init__ with the message alone, which fails
        # for subclasses with required arguments and drops keyword ones (hint, field, flags).
        return (_rebuild, (type(self), self.args, self.__dict__))


def _rebuild(cls: type[ReelforgeError], args: tuple[object, ...], state: dict[str, object]) -> ReelforgeError:
    error = cls.__new__(cls)
    Exception.__init__(error, *args)
    error.__dict__.update(state)
    return error


class SpecError(ReelforgeError):
    """A spec document is invalid. `problems` lists (field path, line or None, message)."""

    exit_code = 2

    def __init__(
        self,
        message: str,
        *,
        source: str | None = None,
        problems: list[tuple[str, int | None, str]] | None = None,
        hint: str | None = None,
    ) -> None:
        super().__init__(message, hint=hint)
        self.source = source
        self.problems = problems or []

    def __str__(self) -> str:
        lines = [self.message]
        for path, line, msg in self.problems:
            where = f"{self.source}:{line}: " if self.source and line else ""
            lines.append(f"  {where}{path}: {msg}")
        if self.hint:
            lines.append(f"  fix: {self.hint}")
        return "\n".join(lines)


class InputError(ReelforgeError):
    """A file the spec points at is missing, unreadable, corrupt or unsupported."""

    exit_code = 2

    def __init__(self, message: str, *, field: str | None = None, hint: str | None = None):
        super().__init__(f"{field}: {message}" if field else message, hint=hint)
        self.field = field


class FFmpegNotFound(ReelforgeError):
    """No usable ffmpeg binary."""


class FFmpegError(ReelforgeError):
    """ffmpeg exited with an error; carries the argv, return code and the tail of stderr."""

    def __init__(self, argv: list[str], returncode: int, stderr_tail: str) -> None:
        super().__init__(
            f"ffmpeg failed with exit code {returncode}:\n{stderr_tail.strip()}",
            hint="run with --dry-run to see the exact command; report it if the spec is valid",
        )
        self.argv = argv
        self.returncode = returncode
        self.stderr_tail = stderr_tail


class ProviderUnavailable(ReelforgeError):
    """A provider cannot be used here (missing key, SDK or binary); `hint` says how to enable it."""

    exit_code = 2


class ProviderError(ReelforgeError):
    """A provider call failed. `retryable` says whether trying again can help; `retry_after` is
    the wait in seconds the service asked for (HTTP Retry-After or Gemini's RetryInfo), if it
    named one. `reason` classifies the failure for the runtime (see `REASONS`): a rate limit
    slows the provider down, only health failures (server, timeout, connection) count towards
    its circuit breaker, and an exhausted quota or a payment demand fails at once."""

    REASONS = ("rate_limited", "quota_exhausted", "payment_required", "server", "timeout", "connection",
               "auth", "bad_request", "not_found", "blocked", "empty", "malformed", "circuit_open")

    def __init__(
        self, provider: str, message: str, *, status: int | None = None, retryable: bool = False,
        retry_after: float | None = None, hint: str | None = None, reason: str | None = None,
    ) -> None:
        super().__init__(f"{provider}: {message}", hint=hint)
        self.provider = provider
        self.status = status
        self.retryable = retryable
        self.retry_after = retry_after
        self.reason = reason or _reason_from_status(status, retryable)

    @property
    def health_failure(self) -> bool:
        """Whether this failure says the provider is unhealthy (what opens its breaker)."""
        if self.reason is None:  # unclassified: a retryable failure is taken as ill health
            return self.retryable
        return self.reason in ("server", "timeout", "connection")


def _reason_from_status(status: int | None, retryable: bool) -> str | None:
    if status == 429:
        return "rate_limited"
    if status == 402:
        return "payment_required"
    if status in (401, 403):
        return "auth"
    if status == 404:
        return "not_found"
    if status is not None and status >= 500:
        return "server"
    if status is not None and 400 <= status < 500:
        return None if retryable else "bad_request"
    return None


class BudgetExceeded(ReelforgeError):
    """A call would push the run past its budget."""

    exit_code = 2


class QualityError(ReelforgeError):
    """A produced image failed a check a person would make by eye (a blank cut-out, no backdrop to
    remove); nothing is written. `hint` says what to try next."""

    exit_code = 2
