"""E-mail through SES v2, with the configuration set that publishes engagement events to EventBridge."""

from __future__ import annotations

from typing import Any

from tern.aws import sending

THROTTLED = {"TooManyRequestsException", "Throttling", "ThrottlingException", "LimitExceededException", "SendingPausedException"}
# This message will never go (the sandbox's unverified recipients, an address SES refuses): not worth a retry.
REJECTED = {"MessageRejected", "BadRequestException"}


class SesEmail:
    def __init__(self, sesv2_client: Any, sender: str, configuration_set: str | None = None):
        self._ses = sesv2_client
        self.sender = sender
        self.configuration_set = configuration_set

    def send(self, to: str, subject: str, html: str | None, text: str | None, tags: dict[str, str]) -> str:
        body: dict[str, Any] = {}
        if html:
            body["Html"] = {"Data": html, "Charset": "UTF-8"}
        if text:
            body["Text"] = {"Data": text, "Charset": "UTF-8"}
        request: dict[str, Any] = {
            "FromEmailAddress": self.sender,
            "Destination": {"ToAddresses": [to]},
            "Content": {"Simple": {"Subject": {"Data": subject, "Charset": "UTF-8"}, "Body": body}},
            # SES tag values allow [A-Za-z0-9_-.@]; ids are kept to that
            "EmailTags": [{"Name": k, "Value": v} for k, v in tags.items()],
        }
        if self.configuration_set:
            request["ConfigurationSetName"] = self.configuration_set
        with sending("SES", THROTTLED, REJECTED):
            return str(self._ses.send_email(**request)["MessageId"])
