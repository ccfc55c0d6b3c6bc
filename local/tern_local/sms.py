"""AWS End User Messaging SMS (the `pinpoint-sms-voice-v2` API) on the local stack: moto has none of it.

The local AWS answers the API's JSON 1.0 requests (`X-Amz-Target: PinpointSMSVoiceV2.<Operation>`) in front of moto,
for what Tern calls and what a user checks, with the API reference's shapes and errors:

- the account's phone numbers: LOCAL_NUMBERS, each on the account's `Default` opt-out list until UpdatePhoneNumber
  gives it another (DescribePhoneNumbers, UpdatePhoneNumber);
- opt-out lists: CreateOptOutList, DescribeOptOutLists, PutOptedOutNumber, DescribeOptedOutNumbers,
  DeleteOptedOutNumber;
- SendTextMessage: from an origination identity (a number's id, its ARN or the number itself); a destination on
  that identity's opt-out list is not attempted: ConflictException, Reason DESTINATION_PHONE_NUMBER_OPTED_OUT.
  Every text sent is a line of DIR/outbox/sms.jsonl.

`reply(destination, sender, "STOP")` is a recipient answering a text: an opt-out keyword (STOP, UNSUBSCRIBE, ...)
puts the sender on the number's opt-out list with EndUserOptedOut, as AWS does for a number whose opt-outs it
manages (SelfManagedOptOutsEnabled false).
"""

from __future__ import annotations

import datetime as dt
import json
import re
import threading
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ACCOUNT, REGION = "123456789012", "eu-central-1"  # tern_local.stack's
# The local account's numbers: (PhoneNumberId, PhoneNumber)
LOCAL_NUMBERS = (("phone-0a1b2c3d4e5f60718293a4b5c6d7e8f9", "+48500100200"), ("phone-1b2c3d4e5f60718293a4b5c6d7e8f9a0", "+48500100300"))
OPT_OUT_KEYWORDS = frozenset({"ARRET", "CANCEL", "END", "OPT-OUT", "OPTOUT", "QUIT", "REMOVE", "STOP", "TD", "UNSUBSCRIBE"})
NAME = re.compile(r"[A-Za-z0-9_-]{1,64}")
E164 = re.compile(r"\+?[1-9][0-9]{1,18}")
TARGET = "PinpointSMSVoiceV2."


class SmsError(Exception):
    def __init__(self, kind: str, message: str, **members: Any):
        super().__init__(message)
        self.kind, self.message, self.members = kind, message, members


@dataclass
class _List:
    name: str
    created: dt.datetime
    numbers: dict[str, tuple[dt.datetime, bool]] = field(default_factory=dict)  # number -> (when, by the end user)

    @property
    def arn(self) -> str:
        return f"arn:aws:sms-voice:{REGION}:{ACCOUNT}:opt-out-list/{self.name}"


@dataclass
class _State:
    lists: dict[str, _List] = field(default_factory=dict)
    numbers: dict[str, dict[str, Any]] = field(default_factory=dict)  # id -> {number, list}
    outbox: Path | None = None
    sent: list[tuple[str, str]] = field(default_factory=list)  # (destination, text) of every text sent, in order
    lock: threading.RLock = field(default_factory=threading.RLock)

    def reset(self) -> None:
        now = _now()
        self.sent = []
        self.lists = {"Default": _List("Default", now)}
        self.numbers = {
            pid: {"PhoneNumberId": pid, "PhoneNumber": number, "OptOutListName": "Default", "CreatedTimestamp": now}
            for pid, number in LOCAL_NUMBERS
        }


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


STATE = _State()
STATE.reset()


def route_sms_outbox_to(folder: Path | None) -> None:
    STATE.outbox = folder


def _list(name: Any) -> _List:
    key = str(name or "").rsplit("/", 1)[-1]
    if key not in STATE.lists:
        raise SmsError(
            "ResourceNotFoundException", f"Opt-out list {name} does not exist.", ResourceType="opt-out-list", ResourceId=str(name)
        )
    return STATE.lists[key]


def _number(identity: Any) -> dict[str, Any]:
    key = str(identity or "").rsplit("/", 1)[-1]
    for number in STATE.numbers.values():
        if key in (number["PhoneNumberId"], number["PhoneNumber"]):
            return number
    raise SmsError(
        "ResourceNotFoundException", f"Phone number {identity} does not exist.", ResourceType="phone-number", ResourceId=str(identity)
    )


def _valid_number(value: Any, field_name: str) -> str:
    if not isinstance(value, str) or not E164.fullmatch(value):
        raise SmsError("ValidationException", f"Invalid {field_name}: {value}", Reason="INVALID_PARAMETER",
                       Fields=[{"Name": field_name, "Message": "Value must be a phone number in E.164 format"}])  # fmt: skip
    return value if value.startswith("+") else "+" + value


def _number_json(number: dict[str, Any]) -> dict[str, Any]:
    return {
        "PhoneNumberArn": f"arn:aws:sms-voice:{REGION}:{ACCOUNT}:phone-number/{number['PhoneNumberId']}", "PhoneNumberId": number["PhoneNumberId"],
        "PhoneNumber": number["PhoneNumber"], "Status": "ACTIVE", "IsoCountryCode": "PL", "MessageType": "PROMOTIONAL",
        "NumberCapabilities": ["SMS"], "NumberType": "LONG_CODE", "MonthlyLeasingPrice": "1.00", "TwoWayEnabled": False,
        "SelfManagedOptOutsEnabled": False, "OptOutListName": number["OptOutListName"], "DeletionProtectionEnabled": False,
        "CreatedTimestamp": number["CreatedTimestamp"].timestamp(),
    }  # fmt: skip


def _opted_out(entry: _List, number: str) -> dict[str, Any]:
    when, by_user = entry.numbers[number]
    return {"OptedOutNumber": number, "OptedOutTimestamp": when.timestamp(), "EndUserOptedOut": by_user}


def _create_opt_out_list(body: dict[str, Any]) -> dict[str, Any]:
    name = body.get("OptOutListName")
    if not isinstance(name, str) or not NAME.fullmatch(name):
        raise SmsError(
            "ValidationException",
            f"Invalid OptOutListName: {name}",
            Reason="INVALID_PARAMETER",
            Fields=[{"Name": "OptOutListName", "Message": "invalid"}],
        )
    if name in STATE.lists:
        raise SmsError(
            "ConflictException",
            f"Opt-out list {name} already exists.",
            Reason="RESOURCE_ALREADY_EXISTS",
            ResourceType="opt-out-list",
            ResourceId=name,
        )
    STATE.lists[name] = _List(name, _now())
    created = STATE.lists[name]
    return {
        "OptOutListArn": created.arn,
        "OptOutListName": name,
        "Tags": body.get("Tags") or [],
        "CreatedTimestamp": created.created.timestamp(),
    }


def _describe_opt_out_lists(body: dict[str, Any]) -> dict[str, Any]:
    names = body.get("OptOutListNames")
    found = [_list(n) for n in names] if names else list(STATE.lists.values())
    return {"OptOutLists": [{"OptOutListArn": e.arn, "OptOutListName": e.name, "CreatedTimestamp": e.created.timestamp()} for e in found]}


def _put_opted_out_number(body: dict[str, Any]) -> dict[str, Any]:
    entry = _list(body.get("OptOutListName"))
    number = _valid_number(body.get("OptedOutNumber"), "OptedOutNumber")
    entry.numbers.setdefault(number, (_now(), False))
    return {"OptOutListArn": entry.arn, "OptOutListName": entry.name, **_opted_out(entry, number)}


def _delete_opted_out_number(body: dict[str, Any]) -> dict[str, Any]:
    entry = _list(body.get("OptOutListName"))
    number = _valid_number(body.get("OptedOutNumber"), "OptedOutNumber")
    if number not in entry.numbers:
        raise SmsError(
            "ResourceNotFoundException",
            f"{number} is not on opt-out list {entry.name}.",
            ResourceType="opted-out-number",
            ResourceId=number,
        )
    answer = {"OptOutListArn": entry.arn, "OptOutListName": entry.name, **_opted_out(entry, number)}
    del entry.numbers[number]
    return answer


def _describe_opted_out_numbers(body: dict[str, Any]) -> dict[str, Any]:
    entry = _list(body.get("OptOutListName"))
    wanted = [_valid_number(n, "OptedOutNumbers") for n in body.get("OptedOutNumbers") or []]
    numbers = [n for n in entry.numbers if not wanted or n in wanted]
    for rule in body.get("Filters") or []:
        if rule.get("Name") == "end-user-opted-out":
            numbers = [n for n in numbers if str(entry.numbers[n][1]).lower() in [str(v).lower() for v in rule.get("Values") or []]]
    size = body.get("MaxResults", 100)
    if not isinstance(size, int) or not 1 <= size <= 100:
        raise SmsError("ValidationException", "MaxResults must be between 1 and 100", Reason="INVALID_PARAMETER",
                       Fields=[{"Name": "MaxResults", "Message": "Member must have value between 1 and 100"}])  # fmt: skip
    start = int(body["NextToken"]) if str(body.get("NextToken") or "").isdigit() else 0  # a page's opaque token: here, where it starts
    answer = {
        "OptOutListArn": entry.arn,
        "OptOutListName": entry.name,
        "OptedOutNumbers": [_opted_out(entry, n) for n in numbers[start : start + size]],
    }
    return {**answer, "NextToken": str(start + size)} if start + size < len(numbers) else answer


def _describe_phone_numbers(body: dict[str, Any]) -> dict[str, Any]:
    ids = body.get("PhoneNumberIds")
    found = [_number(i) for i in ids] if ids else list(STATE.numbers.values())
    return {"PhoneNumbers": [_number_json(n) for n in found]}


def _update_phone_number(body: dict[str, Any]) -> dict[str, Any]:
    number = _number(body.get("PhoneNumberId"))
    if body.get("OptOutListName") is not None:
        number["OptOutListName"] = _list(body["OptOutListName"]).name
    return _number_json(number)


def _send_text_message(body: dict[str, Any]) -> dict[str, Any]:
    destination = _valid_number(body.get("DestinationPhoneNumber"), "DestinationPhoneNumber")
    text = body.get("MessageBody")
    if not isinstance(text, str) or not 1 <= len(text) <= 1600:
        raise SmsError(
            "ValidationException",
            "Invalid MessageBody",
            Reason="INVALID_PARAMETER",
            Fields=[{"Name": "MessageBody", "Message": "length 1-1600"}],
        )
    number = _number(body["OriginationIdentity"]) if body.get("OriginationIdentity") else next(iter(STATE.numbers.values()))
    entry = STATE.lists[number["OptOutListName"]]
    if destination in entry.numbers:
        raise SmsError("ConflictException", f"The destination phone number {destination} is opted out on opt-out list {entry.name}.",
                       Reason="DESTINATION_PHONE_NUMBER_OPTED_OUT", ResourceType="opted-out-number", ResourceId=destination)  # fmt: skip
    message_id = str(uuid.uuid4())
    STATE.sent.append((destination, text))
    if STATE.outbox is not None:
        line = {"message_id": message_id, "to": destination, "from": number["PhoneNumber"], "text": text, "message_type": body.get("MessageType"),
                "context": body.get("Context") or {}, "at": _now().isoformat()}  # fmt: skip
        with STATE.lock, open(STATE.outbox / "sms.jsonl", "a", encoding="utf-8") as f:
            f.write(json.dumps(line) + "\n")
    return {"MessageId": message_id}


OPERATIONS: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
    "CreateOptOutList": _create_opt_out_list, "DescribeOptOutLists": _describe_opt_out_lists, "PutOptedOutNumber": _put_opted_out_number,
    "DeleteOptedOutNumber": _delete_opted_out_number, "DescribeOptedOutNumbers": _describe_opted_out_numbers,
    "DescribePhoneNumbers": _describe_phone_numbers, "UpdatePhoneNumber": _update_phone_number, "SendTextMessage": _send_text_message,
}  # fmt: skip


def sent() -> list[tuple[str, str]]:
    """(destination, text) of every text sent since the stack started."""
    return list(STATE.sent)


def reply(sender: str, to: str, text: str) -> bool:
    """A recipient (`sender`) answers one of the account's numbers (`to`): an opt-out keyword puts them on that number's
    opt-out list, as AWS does; True if it did."""
    number = _number(to)
    if text.strip().split(" ", 1)[0].upper() not in OPT_OUT_KEYWORDS:
        return False
    with STATE.lock:
        STATE.lists[number["OptOutListName"]].numbers[_valid_number(sender, "originationNumber")] = (_now(), True)
    return True


def with_sms(app: Callable[..., Iterable[bytes]]) -> Callable[..., Iterable[bytes]]:
    """The WSGI app `app` with End User Messaging SMS's requests answered here."""

    def serve(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        target = environ.get("HTTP_X_AMZ_TARGET", "")
        if not target.startswith(TARGET):
            return app(environ, start_response)
        length = int(environ.get("CONTENT_LENGTH") or 0)
        raw = environ["wsgi.input"].read(length) if length else b"{}"
        operation = target[len(TARGET) :]
        try:
            handler = OPERATIONS.get(operation)
            if handler is None:
                raise SmsError(
                    "ValidationException", f"{operation} is not emulated by the local stack", Reason="UNKNOWN_OPERATION", Fields=[]
                )
            with STATE.lock:
                status, body = "200 OK", handler(json.loads(raw or b"{}"))
        except SmsError as e:
            status, body = "400 Bad Request", {"__type": e.kind, "message": e.message, "Message": e.message, **e.members}
        except (ValueError, KeyError, TypeError) as e:
            status, body = (
                "400 Bad Request",
                {"__type": "ValidationException", "message": str(e), "Message": str(e), "Reason": "OTHER", "Fields": []},
            )
        data = json.dumps(body).encode()
        start_response(status, [("Content-Type", "application/x-amz-json-1.0"), ("Content-Length", str(len(data))),
                                ("x-amzn-RequestId", str(uuid.uuid4()))] + ([("x-amzn-ErrorType", body["__type"])] if status[0] == "4" else []))  # fmt: skip
        return [data]

    return serve
