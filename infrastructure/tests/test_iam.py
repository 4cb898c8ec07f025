"""The evaluator the policy tests rely on, held to the documented rules it follows (see `iam.py`)."""

import pytest

from iam import Request, allowed

TABLE = "arn:aws:dynamodb:eu-west-1:1:table/debts"
PINNED = {"Effect": "Allow", "Action": ["dynamodb:Query"], "Resource": [TABLE],
          "Condition": {"ForAllValues:StringLike": {"dynamodb:LeadingKeys": ["USER#*"]}}}


def test_an_action_and_a_resource_must_both_match():
    statement = {"Effect": "Allow", "Action": ["dynamodb:GetItem"], "Resource": [TABLE]}
    assert allowed([statement], Request("dynamodb:GetItem", TABLE))
    assert allowed([statement], Request("DynamoDB:getitem", TABLE))
    assert not allowed([statement], Request("dynamodb:PutItem", TABLE))
    assert not allowed([statement], Request("dynamodb:GetItem", TABLE + "/index/SK-PK-index"))
    assert allowed([dict(statement, Resource=[TABLE + "/index/*"])],
                   Request("dynamodb:GetItem", TABLE + "/index/SK-PK-index"))


def test_for_all_values_holds_for_every_value_and_for_none():
    assert allowed([PINNED], Request("dynamodb:Query", TABLE, {"dynamodb:LeadingKeys": ["USER#ada"]}))
    assert not allowed([PINNED], Request("dynamodb:Query", TABLE, {"dynamodb:LeadingKeys": ["DEBT#1"]}))
    assert not allowed([PINNED], Request("dynamodb:Query", TABLE,
                                         {"dynamodb:LeadingKeys": ["USER#ada", "DEBT#1"]}))
    # The documented pitfall: a request without the key satisfies ForAllValues (a Scan has no leading key).
    assert allowed([PINNED], Request("dynamodb:Query", TABLE))


def test_for_any_value_needs_the_key():
    statement = dict(PINNED, Condition={"ForAnyValue:StringEquals": {"dynamodb:LeadingKeys": ["USER#ada"]}})
    assert allowed([statement], Request("dynamodb:Query", TABLE, {"dynamodb:LeadingKeys": ["X", "USER#ada"]}))
    assert not allowed([statement], Request("dynamodb:Query", TABLE))


def test_null_asks_whether_the_key_is_there_and_operators_and_keys_all_hold():
    statement = {"Effect": "Allow", "Action": ["kms:Decrypt"], "Resource": ["*"],
                 "Condition": {"ForAllValues:StringEquals": {"kms:EncryptionContextKeys": ["owner"]},
                               "Null": {"kms:EncryptionContext:owner": "false"}}}
    with_owner = {"kms:EncryptionContextKeys": ["owner"], "kms:EncryptionContext:owner": "ada"}
    assert allowed([statement], Request("kms:Decrypt", "k", with_owner))
    assert not allowed([statement], Request("kms:Decrypt", "k"))
    assert not allowed([statement], Request("kms:Decrypt", "k", dict(with_owner, **{
        "kms:EncryptionContextKeys": ["owner", "purpose"]})))


def test_a_single_valued_operator_on_an_absent_key_is_false_and_deny_wins():
    statement = {"Effect": "Allow", "Action": ["*"], "Resource": ["*"],
                 "Condition": {"StringEquals": {"aws:RequestedRegion": "eu-west-1"}}}
    assert not allowed([statement], Request("s3:GetObject", "x"))
    assert allowed([statement], Request("s3:GetObject", "x", {"aws:RequestedRegion": "eu-west-1"}))
    deny = {"Effect": "Deny", "Action": ["s3:*"], "Resource": ["*"]}
    assert not allowed([statement, deny], Request("s3:GetObject", "x", {"aws:RequestedRegion": "eu-west-1"}))


def test_an_operator_it_does_not_know_is_an_error():
    statement = dict(PINNED, Condition={"NumericLessThan": {"x": "1"}})
    with pytest.raises(ValueError):
        allowed([statement], Request("dynamodb:Query", TABLE, {"x": "0"}))
