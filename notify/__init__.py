"""notify: one `Notifier` interface for SMS and voice invitations, with Twilio and console adapters.

Nothing here imports the app (`expertpool/`), and nothing outside this package imports `twilio`.
The app composes it: it builds a notifier from its settings, writes outbox rows, calls
`send_sms` / `place_call`, and feeds the events parsed from webhooks into its services.

Adapters: Twilio (`twilio_adapter.py`), the console (`console.py`) and Alibaba Cloud SMS and
voice for mainland numbers (`aliyun_adapter.py`, registered templates); each has a loopback fake
of its provider's API (`twilio_fake.py`, `aliyun_fake.py`). The app hands every adapter a
`Message` (a kind with parameters, `messages.py`) and each renders it its own way.

Adding another provider (Tencent Cloud SMS and VMS, say):

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

from notify.aliyun_adapter import (
    AliyunNotifier,
    parse_sms_report,
    parse_sms_up,
    parse_templates,
    parse_voice_report,
)
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
from notify.messages import Message, MessageKind, render_text, template_params
from notify.twilio_adapter import LoopbackHttpClient, TwilioNotifier
from notify.voice import (
    Invitation,
    Language,
    account_code_sms,
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
    term_reminder_sms,
    training_reminder_sms,
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
    "AliyunNotifier",
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
    "Message",
    "MessageKind",
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
    "account_code_sms",
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
    "parse_sms_report",
    "parse_sms_status",
    "parse_sms_up",
    "parse_templates",
    "parse_voice_prompt",
    "parse_voice_report",
    "postponement_sms",
    "random_jitter",
    "release_sms",
    "render_text",
    "split_reply",
    "status_rank",
    "template_params",
    "term_reminder_sms",
    "training_reminder_sms",
    "validate_signature",
    "webhook_url",
    "which_invitation_sms",
]
