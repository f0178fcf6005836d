"""notify: one `Notifier` interface for SMS and voice invitations, with Twilio and console adapters.

Nothing here imports the app (`expertpool/`), and nothing outside this package imports `twilio`.
The app composes it: it builds a notifier from its settings, writes outbox rows, calls
`send_sms` / `place_call`, and feeds the events parsed from webhooks into its services.

Adding a provider (for example a domestic SMS and voice service for mainland China):

1. Write `notify/<name>_adapter.py` with a class that satisfies `Notifier` (see `base.py`):
   `send_sms`, `place_call`, `fetch_message`, `fetch_call`, `hangup`, `find_messages`,
   `find_calls`, and a `provider` name.
2. Translate the provider's statuses into the words of `STATUS_ORDER` (queued, sent, delivered,
   ringing, in-progress, completed, no-answer...) and its errors into `NotificationFailed`,
   `TransientFailure` (rate limits and 5xx, with Retry-After) and `UnknownOutcome` (timeouts
   after the request may have left). `classify_error_code` shows the expected grouping.
3. Add parsers for its callbacks that return the events of `webhooks.py` (`CallStatus`,
   `GatherResult`, `InboundSms`, `SmsStatus`) and a signature check of its own.
4. Let the app's settings choose it. The outbox and services need no change.
"""

from notify.backoff import backoff_delay, backoff_schedule, parse_retry_after, random_jitter
from notify.base import (
    FINAL_CALL_STATUSES,
    FINAL_MESSAGE_STATUSES,
    Channel,
    Delivery,
    FailureKind,
    NotificationError,
    NotificationFailed,
    Notifier,
    TransientFailure,
    UnknownOutcome,
    classify_error_code,
    mask_phone,
)
from notify.console import ConsoleEntry, ConsoleNotifier
from notify.twilio_adapter import LoopbackHttpClient, TwilioNotifier
from notify.voice import (
    Invitation,
    Language,
    answer_twiml,
    called_off_sms,
    check_in_code_sms,
    confirmation_sms,
    format_time,
    help_sms,
    invitation_sms,
    invitation_twiml,
    machine_twiml,
    postponement_sms,
    release_sms,
    which_invitation_sms,
)
from notify.webhooks import (
    STATUS_ORDER,
    AnsweredBy,
    CallStatus,
    FormParams,
    GatherResult,
    InboundSms,
    InvalidWebhook,
    Reply,
    SmsStatus,
    VoicePrompt,
    WebhookEvent,
    advance,
    classify_answered_by,
    new_reply_code,
    parse_call_status,
    parse_digits,
    parse_gather,
    parse_inbound_sms,
    parse_reply,
    parse_sms_status,
    parse_voice_prompt,
    split_reply,
    status_rank,
    validate_signature,
    webhook_url,
)

__all__ = [
    "FINAL_CALL_STATUSES",
    "FINAL_MESSAGE_STATUSES",
    "STATUS_ORDER",
    "AnsweredBy",
    "CallStatus",
    "Channel",
    "ConsoleEntry",
    "ConsoleNotifier",
    "Delivery",
    "FailureKind",
    "FormParams",
    "GatherResult",
    "InboundSms",
    "InvalidWebhook",
    "Invitation",
    "Language",
    "LoopbackHttpClient",
    "NotificationError",
    "NotificationFailed",
    "Notifier",
    "Reply",
    "SmsStatus",
    "TransientFailure",
    "TwilioNotifier",
    "UnknownOutcome",
    "VoicePrompt",
    "WebhookEvent",
    "advance",
    "answer_twiml",
    "backoff_delay",
    "backoff_schedule",
    "called_off_sms",
    "check_in_code_sms",
    "classify_answered_by",
    "classify_error_code",
    "confirmation_sms",
    "format_time",
    "help_sms",
    "invitation_sms",
    "invitation_twiml",
    "machine_twiml",
    "mask_phone",
    "new_reply_code",
    "parse_call_status",
    "parse_digits",
    "parse_gather",
    "parse_inbound_sms",
    "parse_reply",
    "parse_retry_after",
    "parse_sms_status",
    "parse_voice_prompt",
    "postponement_sms",
    "random_jitter",
    "release_sms",
    "split_reply",
    "status_rank",
    "validate_signature",
    "webhook_url",
    "which_invitation_sms",
]
