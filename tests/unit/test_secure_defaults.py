"""What a security review asks of the deployed stack, read from template.yaml itself (docs/DESIGN.md, Security).

The local stack runs the same template, so the behaviour behind some of these is tested end to end elsewhere:
the security headers (test_local_stack, the console's browser tests under its CSP), the per-org query limit
(test_api), IAM (test_local_iam, and every local-stack test through tern_local.iam).
"""

from __future__ import annotations

import json
from typing import Any

from tern_local.template import template

RESOURCES: dict[str, Any] = template()["Resources"]


def props(logical_id: str) -> dict[str, Any]:
    found: dict[str, Any] = RESOURCES[logical_id]["Properties"]
    return found


def test_the_user_pool_asks_for_a_second_factor_a_strong_password_and_a_verified_address() -> None:
    pool, client = props("UserPool"), props("UserPoolClient")
    assert pool["MfaConfiguration"] == {"Ref": "Mfa"} and template()["Parameters"]["Mfa"]["Default"] == "ON"
    assert pool["EnabledMfas"] == ["SOFTWARE_TOKEN_MFA"]
    policy = pool["Policies"]["PasswordPolicy"]
    assert policy["MinimumLength"] >= 12 and all(
        policy[k] for k in ("RequireLowercase", "RequireUppercase", "RequireNumbers", "RequireSymbols")
    )
    assert pool["UserAttributeUpdateSettings"]["AttributesRequireVerificationBeforeUpdate"] == ["email"]
    assert pool["UserPoolAddOns"]["Fn::If"][0] == "HasThreatProtection" and pool["UserPoolTier"]["Fn::If"][1] == "PLUS"
    assert client["PreventUserExistenceErrors"] == "ENABLED" and client["EnableTokenRevocation"] is True


def test_the_api_is_throttled_logged_and_may_sit_behind_a_waf() -> None:
    api = props("AdminApi")
    everything = [m for m in api["MethodSettings"] if m["ResourcePath"] == "/*" and m["HttpMethod"] == "*"]
    assert everything and everything[0]["ThrottlingRateLimit"] == {"Ref": "ApiRateLimit"}
    assert api["AccessLogSetting"]["DestinationArn"] == {"Fn::GetAtt": ["ApiAccessLogs", "Arn"]}
    assert "$context.requestId" in api["AccessLogSetting"]["Format"] and "body" not in api["AccessLogSetting"]["Format"]
    assert RESOURCES["AdminApiWebAcl"]["Condition"] == "HasApiWebAcl"
    assert RESOURCES["AdminApi"]["DependsOn"] == "ApiGatewayAccount"


def test_every_answer_of_the_distribution_carries_the_security_headers_and_is_logged() -> None:
    config = props("ConsoleDistribution")["DistributionConfig"]
    for behaviour in [config["DefaultCacheBehavior"], *config["CacheBehaviors"]]:
        assert behaviour["ResponseHeadersPolicyId"] == {"Ref": "ConsoleSecurityHeaders"}, behaviour.get("PathPattern", "default")
        assert behaviour["ViewerProtocolPolicy"] in ("https-only", "redirect-to-https")
    headers = props("ConsoleSecurityHeaders")["ResponseHeadersPolicyConfig"]["SecurityHeadersConfig"]
    assert set(headers) >= {"ContentSecurityPolicy", "StrictTransportSecurity", "FrameOptions", "ContentTypeOptions"}
    csp = headers["ContentSecurityPolicy"]["ContentSecurityPolicy"]["Fn::Sub"]
    assert "script-src 'self';" in csp and "frame-ancestors 'none'" in csp and "'unsafe-eval'" not in csp
    assert config["Logging"]["Bucket"] == {"Fn::GetAtt": ["LogsBucket", "RegionalDomainName"]}
    assert config["WebACLId"]["Fn::If"][0] == "HasConsoleWebAcl"


def test_every_bucket_refuses_plain_http_and_logs_its_access() -> None:
    buckets = [name for name, r in RESOURCES.items() if r["Type"] == "AWS::S3::Bucket"]
    policies = {
        props(name)["Bucket"]["Ref"]: props(name)["PolicyDocument"] for name, r in RESOURCES.items() if r["Type"] == "AWS::S3::BucketPolicy"
    }
    for bucket in buckets:
        denies = [
            s
            for s in policies[bucket]["Statement"]
            if s["Effect"] == "Deny" and s.get("Condition") == {"Bool": {"aws:SecureTransport": "false"}}
        ]
        assert denies and denies[0]["Action"] == "s3:*" and denies[0]["Principal"] == "*", bucket
        assert props(bucket)["PublicAccessBlockConfiguration"] == dict.fromkeys(
            ("BlockPublicAcls", "BlockPublicPolicy", "IgnorePublicAcls", "RestrictPublicBuckets"), True
        )
        if bucket != "LogsBucket":
            assert props(bucket)["LoggingConfiguration"]["DestinationBucketName"] == {"Ref": "LogsBucket"}, bucket


def test_traces_never_record_what_a_handler_answers_or_an_errors_text() -> None:
    variables = template()["Globals"]["Function"]["Environment"]["Variables"]
    assert variables["POWERTOOLS_TRACER_CAPTURE_RESPONSE"] == "false" and variables["POWERTOOLS_TRACER_CAPTURE_ERROR"] == "false"


def test_state_machine_permissions_name_this_stages_machines_only() -> None:
    """Every states:* grant names a machine or execution of this stage: its journeys (tern_<stage>_*), its runs and
    refreshes (…-<stage>); never `tern-*`, which matched every stage's machines in the account."""
    checked = 0
    for name, resource in RESOURCES.items():
        for policy in resource.get("Properties", {}).get("Policies", []) or []:
            for statement in policy.get("Statement", []) if isinstance(policy, dict) else []:
                actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
                if not any(str(a).startswith("states:") and a != "states:SendTaskSuccess" for a in actions):
                    continue
                targets = statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
                for target in targets:
                    text = json.dumps(target)
                    assert "${Stage}" in text or "Fn::GetAtt" in text or "Ref" in text, (name, text)
                    checked += 1
    assert checked >= 5
