"""The emulator's exception types and Telegram's error texts, worded as Telegram words them."""

from __future__ import annotations

from typing import Any

UNAUTHORIZED = "Unauthorized"
NOT_FOUND = "Not Found"
CHAT_NOT_FOUND = "Bad Request: chat not found"
CHAT_ID_EMPTY = "Bad Request: chat_id is empty"
USER_NOT_FOUND = "Bad Request: user not found"
TEXT_EMPTY = "Bad Request: message text is empty"
TEXT_TOO_LONG = "Bad Request: message is too long"
CANT_PARSE_ENTITIES = "Bad Request: can't parse entities: "
UNSUPPORTED_PARSE_MODE = "Bad Request: unsupported parse_mode"
BUTTON_DATA_INVALID = "Bad Request: BUTTON_DATA_INVALID"
BUTTON_URL_INVALID = "Bad Request: BUTTON_URL_INVALID"
REPLY_MARKUP_INVALID = "Bad Request: can't parse reply keyboard markup JSON object"
INLINE_KEYBOARD_EXPECTED = 'Bad Request: field "inline_keyboard" must be an Array'
MESSAGE_ID_INVALID = "Bad Request: message identifier is not specified"
MESSAGE_TO_EDIT_NOT_FOUND = "Bad Request: message to edit not found"
MESSAGE_TO_DELETE_NOT_FOUND = "Bad Request: message to delete not found"
MESSAGE_CANT_BE_EDITED = "Bad Request: message can't be edited"
MESSAGE_NOT_MODIFIED = (
    "Bad Request: message is not modified: specified new message content and reply markup "
    "are exactly the same as a current content and reply markup of the message"
)
REPLY_NOT_FOUND = "Bad Request: message to be replied not found"
REPLY_PARAMETERS_INVALID = "Bad Request: can't parse reply parameters JSON object"
QUERY_TOO_OLD = "Bad Request: query is too old and response timeout expired or query ID is invalid"
QUERY_ID_EMPTY = "Bad Request: query_id is empty"
WRONG_ACTION = "Bad Request: wrong parameter action in request"
COMMANDS_INVALID = "Bad Request: BOT_COMMANDS_TOO_MUCH"
COMMAND_INVALID = "Bad Request: BOT_COMMAND_INVALID"
COMMAND_DESCRIPTION_INVALID = "Bad Request: command description is empty"
WEBHOOK_URL_INVALID = "Bad Request: bad webhook: An HTTPS URL must be provided for webhook"
WEBHOOK_PORT_INVALID = (
    "Bad Request: bad webhook: Webhook can be set up only on ports 80, 88, 443 or 8443"
)
WEBHOOK_SECRET_INVALID = "Bad Request: secret token contains unallowed characters"
WEBHOOK_MAX_CONNECTIONS = "Bad Request: bad webhook: max_connections must be between 1 and 100"
LIMIT_INVALID = "Bad Request: limit must be between 1 and 100"
WEBHOOK_ACTIVE = (
    "Conflict: can't use getUpdates method while webhook is active; "
    "use deleteWebhook to delete the webhook first"
)
TERMINATED_BY_OTHER_POLL = (
    "Conflict: terminated by other getUpdates request; "
    "make sure that only one bot instance is running"
)
BOT_BLOCKED = "Forbidden: bot was blocked by the user"
# Groups and channels ({kind}: group, supergroup or channel).
KICKED_FROM = "Forbidden: bot was kicked from the {kind} chat"
NOT_A_MEMBER = "Forbidden: bot is not a member of the {kind} chat"
NEED_CHANNEL_ADMIN = "Bad Request: need administrator rights in the channel chat"
NOT_ENOUGH_RIGHTS_TEXT = "Bad Request: not enough rights to send text messages to the chat"
NO_ADMINS_IN_PRIVATE = "Bad Request: there are no administrators in the private chat"
THREAD_NOT_FOUND = "Bad Request: message thread not found"
TOPIC_CLOSED = "Bad Request: TOPIC_CLOSED"
NOT_A_FORUM = "Bad Request: the chat is not a forum"
TOPIC_RIGHTS = "Bad Request: not enough rights to create a topic"
UPGRADED = "Bad Request: group chat was upgraded to a supergroup chat"
TOO_MANY_REQUESTS = "Too Many Requests: retry after {retry_after}"


class EmulatorError(Exception):
    """Root of every error the emulator raises on purpose."""


class ApiError(EmulatorError):
    """A Bot API error answer: HTTP status = error_code, Telegram's description."""

    def __init__(
        self,
        code: int,
        description: str,
        *,
        retry_after: int | None = None,
        migrate_to_chat_id: int | None = None,
    ) -> None:
        super().__init__(description)
        self.code = code
        self.description = description
        self.retry_after = retry_after
        self.migrate_to_chat_id = migrate_to_chat_id

    def to_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "ok": False,
            "error_code": self.code,
            "description": self.description,
        }
        if self.retry_after is not None:
            body["parameters"] = {"retry_after": self.retry_after}
        if self.migrate_to_chat_id is not None:
            body["parameters"] = {"migrate_to_chat_id": self.migrate_to_chat_id}
        return body


def bad_request(description: str) -> ApiError:
    """A 400; `description` already starts with "Bad Request: "."""
    return ApiError(400, description)


def too_many_requests(retry_after: int) -> ApiError:
    return ApiError(429, TOO_MANY_REQUESTS.format(retry_after=retry_after), retry_after=retry_after)


class ControlError(EmulatorError):
    """A control-API error: HTTP status and a description."""

    def __init__(self, status: int, description: str) -> None:
        super().__init__(description)
        self.status = status
        self.description = description
