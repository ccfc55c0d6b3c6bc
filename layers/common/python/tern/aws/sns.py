"""SMS through SNS (End User Messaging SMS behind it), transactional or promotional."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from tern.aws import error_code
from tern.errors import RetryLater, SendRejected, StoreError

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
        try:
            return str(self._sns.publish(PhoneNumber=phone, Message=text, MessageAttributes=attributes)["MessageId"])
        except ClientError as e:
            if error_code(e) in THROTTLED:
                raise RetryLater(f"SNS throttled: {e}") from None
            if error_code(e) in REJECTED:
                raise SendRejected(f"SNS refused the message: {e.response.get('Error', {}).get('Message') or error_code(e)}") from None
            raise StoreError(f"SNS refused the message: {e}") from None
        except BotoCoreError as e:
            raise RetryLater(f"SNS unreachable: {e}") from None
