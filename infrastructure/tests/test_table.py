"""The table the program declares is the table of design.md section 3."""

import os

import pulumi

from components.table import TTL_ATTRIBUTE, debts_table


@pulumi.runtime.test
def test_table_matches_the_design():
    table = debts_table("test-table", deletion_protection=True)

    def check(args):
        (hash_key, range_key, attributes, gsis, billing, stream_enabled, stream_view, ttl, pitr, protection) = args
        assert (hash_key, range_key) == ("PK", "SK")
        assert sorted((a["name"], a["type"]) for a in attributes) == [("PK", "S"), ("SK", "S")]
        # No index: each write is one write, and no constant sort key becomes a hot index partition.
        assert not gsis
        assert billing == "PAY_PER_REQUEST"
        assert stream_enabled is True
        assert stream_view == "NEW_AND_OLD_IMAGES"
        assert ttl == {"attribute_name": TTL_ATTRIBUTE, "enabled": True}
        assert pitr["enabled"] is True
        assert protection is True

    return pulumi.Output.all(
        table.hash_key, table.range_key, table.attributes, table.global_secondary_indexes, table.billing_mode,
        table.stream_enabled, table.stream_view_type, table.ttl, table.point_in_time_recovery,
        table.deletion_protection_enabled,
    ).apply(check)


def test_the_ttl_name_matches_the_rust_code():
    repo = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    with open(os.path.join(repo, "store", "src", "keys.rs")) as f:
        rust = f.read()
    assert f'TTL_ATTRIBUTE: &str = "{TTL_ATTRIBUTE}"' in rust
