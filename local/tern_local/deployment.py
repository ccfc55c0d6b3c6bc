"""template.yaml deployed onto the local AWS: its intrinsics resolved as CloudFormation would for this stack
(names, ARNs, conditions, AWS::NoValue), every resource moto can hold created, and each function's environment."""

from __future__ import annotations

import io
import json
import re
import secrets
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3

from tern_local.ses import verified_by_its_owner
from tern_local.template import create_table, template

ACCOUNT = "123456789012"
REGION = "eu-central-1"
STAGE = "local"
ROOT = Path(__file__).resolve().parents[2]

# ------------------------------------------------------------------------------------- the template


def _given_name(resource: dict[str, Any]) -> Any:
    props = resource.get("Properties", {})
    if resource["Type"] == "AWS::Glue::Database":
        return props["DatabaseInput"]["Name"]
    if resource["Type"] == "AWS::SES::EmailIdentity":
        return props["EmailIdentity"]
    for key in ("FunctionName", "Name", "LayerName", "UserPoolName"):
        if key in props:
            return props[key]
    return None


NO_VALUE: Any = type("NoValue", (), {"__repr__": lambda self: "AWS::NoValue"})()  # !Ref AWS::NoValue: the property is left out


@dataclass
class Resolver:
    """Resolves the template's intrinsics (Ref, Sub, GetAtt) the way CloudFormation would for this stack.

    A resource is named as the template names it, else tern-<logical-id>-local.
    """

    resources: dict[str, Any]
    parameters: dict[str, str]

    def __post_init__(self) -> None:
        pseudo = {"AWS::Region": REGION, "AWS::AccountId": ACCOUNT, "AWS::Partition": "aws", "AWS::StackName": f"tern-{STAGE}"}
        self.refs: dict[str, str] = {**pseudo, **self.parameters}
        self.names: dict[str, str] = {}
        for logical, resource in self.resources.items():
            given = _given_name(resource)
            kebab = re.sub(r"(?<!^)(?=[A-Z])", "-", logical).lower()
            self.names[logical] = str(self.resolve(given)) if given is not None else f"tern-{kebab}-{STAGE}"

    def ref(self, name: str) -> str:
        if name == "AWS::NoValue":
            return NO_VALUE  # type: ignore[no-any-return]
        if name in self.refs:
            return self.refs[name]
        return self.names[name]

    def arn(self, logical: str) -> str:
        kind, name = self.resources[logical]["Type"], self.names[logical]
        return {
            "AWS::IAM::Role": f"arn:aws:iam::{ACCOUNT}:role/{name}",
            "AWS::Serverless::Function": f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{name}",
            "AWS::DynamoDB::Table": f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/{name}",
            "AWS::Cognito::UserPool": f"arn:aws:cognito-idp:{REGION}:{ACCOUNT}:userpool/{name}",
            "AWS::KinesisFirehose::DeliveryStream": f"arn:aws:firehose:{REGION}:{ACCOUNT}:deliverystream/{name}",
            "AWS::S3::Bucket": f"arn:aws:s3:::{name}",
            "AWS::Serverless::StateMachine": f"arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:{name}",
            "AWS::SQS::Queue": f"arn:aws:sqs:{REGION}:{ACCOUNT}:{name}",
            "AWS::SNS::Topic": f"arn:aws:sns:{REGION}:{ACCOUNT}:{name}",
        }.get(kind, f"arn:aws:local:{REGION}:{ACCOUNT}:{name}")

    def functions(self) -> list[str]:
        return [logical for logical, r in self.resources.items() if r["Type"] == "AWS::Serverless::Function"]

    def function_by_name(self, name_or_arn: str) -> str:
        """The logical id of a function named by its name or its ARN."""
        name = name_or_arn.split(":function:", 1)[-1].split(":", 1)[0]
        for logical in self.functions():
            if self.names[logical] == name:
                return logical
        raise KeyError(f"no function {name_or_arn} in template.yaml")

    def resolve(self, value: Any) -> Any:
        if isinstance(value, dict) and len(value) == 1:
            ((key, arg),) = value.items()
            if key == "Ref":
                return self.ref(arg)
            if key == "Fn::GetAtt":
                logical, attribute = arg if isinstance(arg, list) else arg.split(".", 1)
                return self.arn(logical) if attribute == "Arn" else self.names[logical]
            if key == "Fn::Sub":
                text, extra = (arg, {}) if isinstance(arg, str) else (arg[0], self.resolve(arg[1]))
                return self.substitute(text, extra)
            if key == "Fn::If":
                condition, then, otherwise = arg
                return self.resolve(then if self.condition(condition) else otherwise)
        if isinstance(value, dict):
            return {k: v for k, v in ((k, self.resolve(v)) for k, v in value.items()) if v is not NO_VALUE}
        if isinstance(value, list):
            return [v for v in (self.resolve(v) for v in value) if v is not NO_VALUE]
        return value

    def condition(self, name: str) -> bool:
        """A condition of template.yaml's Conditions, evaluated with this stack's parameters."""
        return bool(self._truth(template().get("Conditions", {})[name]))

    def _truth(self, value: Any) -> Any:
        if isinstance(value, dict) and len(value) == 1:
            ((key, arg),) = value.items()
            if key == "Fn::Not":
                return not self._truth(arg[0])
            if key == "Fn::Equals":
                return self._truth(arg[0]) == self._truth(arg[1])
            if key == "Fn::And":
                return all(self._truth(a) for a in arg)
            if key == "Fn::Or":
                return any(self._truth(a) for a in arg)
            if key == "Condition":
                return self.condition(arg)
        return self.resolve(value)

    def substitute(self, text: str, extra: dict[str, str]) -> str:
        def one(match: re.Match[str]) -> str:
            name = match.group(1)
            if name.startswith("!"):
                return "${" + name[1:] + "}"
            if name in extra:
                return str(extra[name])
            if "." in name:
                logical, attribute = name.split(".", 1)
                return self.arn(logical) if attribute == "Arn" else self.names[logical]
            return self.ref(name)

        return re.sub(r"\$\{([^}]+)\}", one, text)


def function_environment(resolver: Resolver, logical_id: str) -> dict[str, str]:
    """The environment template.yaml gives a function: Globals merged with its own, resolved."""
    loaded = template()
    globals_env = loaded.get("Globals", {}).get("Function", {}).get("Environment", {}).get("Variables", {})
    own = loaded["Resources"][logical_id]["Properties"].get("Environment", {}).get("Variables", {})
    return {k: str(resolver.resolve(v)) for k, v in {**globals_env, **own}.items()}


# ------------------------------------------------------------------------------------------ deploying


def deploy(resolver: Resolver, endpoint: str) -> None:
    """Create in moto every resource of template.yaml that moto holds."""

    def client(service: str) -> Any:
        return boto3.client(service, endpoint_url=endpoint, region_name=REGION)

    present = {logical: r for logical, r in resolver.resources.items() if "Condition" not in r or resolver.condition(r["Condition"])}
    for logical, resource in present.items():
        kind, name = resource["Type"], resolver.names[logical]
        props = resolver.resolve(resource.get("Properties", {}))
        if kind == "AWS::DynamoDB::Table":
            create_table(client("dynamodb"), logical, name)
        elif kind == "AWS::S3::Bucket":
            client("s3").create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": REGION})
        elif kind == "AWS::Glue::Database":
            client("glue").create_database(DatabaseInput=props["DatabaseInput"])
        elif kind == "AWS::Glue::Table":
            client("glue").create_table(DatabaseName=props["DatabaseName"], TableInput=props["TableInput"])
        elif kind == "AWS::Athena::WorkGroup":
            client("athena").create_work_group(
                Name=name, Description=props.get("Description", ""), Configuration=props["WorkGroupConfiguration"]
            )
        elif kind == "AWS::SQS::Queue":
            client("sqs").create_queue(QueueName=name)
        elif kind == "AWS::Scheduler::ScheduleGroup":
            client("scheduler").create_schedule_group(Name=name)
        elif kind == "AWS::IAM::Role":
            client("iam").create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(props["AssumeRolePolicyDocument"]))
        elif kind == "AWS::SES::ConfigurationSet":
            client("sesv2").create_configuration_set(ConfigurationSetName=name)
        elif kind == "AWS::SecretsManager::Secret":  # a generated value, as GenerateSecretString makes; Ref is its ARN
            value = secrets.token_urlsafe(48)
            resolver.refs[logical] = client("secretsmanager").create_secret(Name=name, SecretString=value)["ARN"]
    for logical, resource in present.items():  # what refers to the resources above
        kind, name = resource["Type"], resolver.names[logical]
        props = resolver.resolve(resource.get("Properties", {}))
        if kind == "AWS::SES::EmailIdentity":  # the stack's own sender: verified, as its deployer does by SES's e-mail
            client("sesv2").create_email_identity(EmailIdentity=name)
            verified_by_its_owner(name)
        elif kind == "AWS::Serverless::StateMachine":  # its definition as `sam deploy` leaves it: substituted
            definition = resolver.substitute((ROOT / props["DefinitionUri"]).read_text(), props.get("DefinitionSubstitutions", {}))
            role = client("iam").create_role(RoleName=f"{name}-role", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
            client("stepfunctions").create_state_machine(name=name, definition=definition, roleArn=role)
        elif kind == "AWS::Serverless::Function":
            # Registered so that Step Functions, EventBridge and the AWS CLI see it; invocations run in process.
            role = client("iam").create_role(RoleName=f"{name}-role", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
            client("lambda").create_function(
                FunctionName=name, Runtime="python3.11", Role=role, Handler=props.get("Handler", "app.lambda_handler"),
                Code={"ZipFile": _placeholder_zip()}, Timeout=int(props.get("Timeout", 60)),
            )  # fmt: skip
            for event in props.get("Events", {}).values():
                if event.get("Type") == "EventBridgeRule":
                    rule = f"{name}-{len(client('events').list_rules()['Rules'])}"
                    client("events").put_rule(Name=rule, EventPattern=json.dumps(event["Properties"]["Pattern"]))
                    client("events").put_targets(Rule=rule, Targets=[{"Id": "function", "Arn": resolver.arn(logical)}])


def _placeholder_zip() -> bytes:

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("app.py", "# the local stack runs this function in process\n")
    return buffer.getvalue()
