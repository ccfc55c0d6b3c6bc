"""SMS through SNS (End User Messaging SMS behind it), transactional or promotional."""

from __future__ import annotations

from typing import Any

from tern.aws import sending

THROTTLED = {"Throttling", "ThrottlingException", "ThrottledException", "KMSThrottlingException"}
# This text will never go (a number SNS will not take, one that opted out): not worth a retry.
REJECTED = {"InvalidParameter", "InvalidParameterValue", "OptedOut"}


class SnsSms:
    def __init__(self, sns_client: Any, sender_id: str | None = None):
        self._sns = sns_client
        self.sender_id = sender_id

    def send(self, phone: str, text: str) -> str:
        attributes = {"AWS.SNS.SMS.SMSType": {"DataType": "String", "StringValue": "Promotional"}}
        if self.sender_id:
            attributes["AWS.SNS.SMS.SenderID"] = {"DataType": "String", "StringValue": self.sender_id}
        with sending("SNS", THROTTLED, REJECTED):
            return str(self._sns.publish(PhoneNumber=phone, Message=text, MessageAttributes=attributes)["MessageId"])
