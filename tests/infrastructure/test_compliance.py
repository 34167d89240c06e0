"""cdk-nag's AwsSolutions pack and cfn-lint over every synthesised template."""

from __future__ import annotations

from typing import Any

from aws_cdk import cx_api
from cfnlint.api import ManualArgs, lint_file
from infra_support import REGION, Synth


def _messages(synth: Synth, level: cx_api.SynthesisMessageLevel) -> list[str]:
    return [
        f"{artifact.stack_name} {message.id}: {str(message.entry.data)[:200]}"
        for artifact in synth.assembly.stacks
        for message in artifact.messages
        if message.level == level
    ]


def test_cdk_nag_aws_solutions_has_no_unsuppressed_errors(synth: Synth) -> None:
    errors = _messages(synth, cx_api.SynthesisMessageLevel.ERROR)
    assert errors == [], "\n".join(errors)


def test_nag_ran_and_every_suppression_has_a_reason(synth: Synth) -> None:
    suppressions: list[dict[str, Any]] = []
    for template in (synth.default_json, synth.https_json):
        for resource in template["Resources"].values():
            rules = resource.get("Metadata", {}).get("cdk_nag", {}).get("rules_to_suppress", [])
            suppressions.extend(rules)
    ids = {s["id"] for s in suppressions}
    # Suppressions exist (so the checks ran over these resources) and each one says why.
    assert {"AwsSolutions-IAM5", "AwsSolutions-ECS2", "AwsSolutions-EC23"} <= ids
    for suppression in suppressions:
        assert len(suppression.get("reason", "").split()) >= 6, suppression


def test_cfn_lint_finds_no_errors(synth: Synth) -> None:
    findings = [
        f"{path.name}: {match.rule.id} {match.message}"
        for path in synth.template_paths
        for match in lint_file(path, config=ManualArgs(regions=[REGION]))
        if match.rule.id.startswith("E")
    ]
    assert findings == [], "\n".join(findings)
