"""The one DynamoDB table of design.md section 3: events, guards and read items share it."""

import pulumi
import pulumi_aws as aws

# Names the application code relies on (store/dynamodb/src/table.rs creates the same table locally).
TTL_ATTRIBUTE = "expires_at"


def debts_table(name: str, *, deletion_protection: bool, opts: pulumi.ResourceOptions | None = None) -> aws.dynamodb.Table:
    """Keys PK/SK, a NEW_AND_OLD_IMAGES stream for the projector and the publisher, TTL for idempotency
    records, on-demand billing and point-in-time recovery. No secondary index: every read names its partition
    (an index would copy every write; see docs/operations.md)."""
    return aws.dynamodb.Table(
        name,
        billing_mode="PAY_PER_REQUEST",
        hash_key="PK",
        range_key="SK",
        attributes=[
            aws.dynamodb.TableAttributeArgs(name="PK", type="S"),
            aws.dynamodb.TableAttributeArgs(name="SK", type="S"),
        ],
        stream_enabled=True,
        stream_view_type="NEW_AND_OLD_IMAGES",
        ttl=aws.dynamodb.TableTtlArgs(attribute_name=TTL_ATTRIBUTE, enabled=True),
        point_in_time_recovery=aws.dynamodb.TablePointInTimeRecoveryArgs(enabled=True),
        deletion_protection_enabled=deletion_protection,
        opts=opts,
    )
