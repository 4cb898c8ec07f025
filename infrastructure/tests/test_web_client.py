"""The web client on AWS, checked offline: a private bucket only the stack's distribution reads (over TLS),
a distribution that signs with origin access control and serves HTTPS only with the local gateway's headers
(the API added to connect-src), every file of web/files.json uploaded with a config.json naming the API, and
an API whose CORS lets the page send and read what the client does."""

import json
import re
from pathlib import Path

import pulumi
import pytest

from iam import Request, allowed
from test_stack import STACK, declared
from components.web_client import MANIFEST, web_objects

REPO = Path(__file__).resolve().parents[2]
API_URL = "https://api-id.execute-api.us-east-1.amazonaws.com"
DISTRIBUTION_ARN = "arn:aws:cloudfront::000000000000:distribution/web-distribution-id"
# Headers a page may send, or read, across origins without the server's leave (the Fetch standard's
# CORS-safelisted request and response headers).
SAFELISTED_REQUEST = {"accept", "accept-language", "content-language"}
SAFELISTED_RESPONSE = {"cache-control", "content-language", "content-length", "content-type", "expires",
                       "last-modified", "pragma"}


def after_the_web_client(check):
    web = STACK.web
    urns = [o.urn for o in web.objects] + [web.config.urn, web.bucket_policy.urn, web.distribution.urn,
                                            web.headers.urn, STACK.api.urn]
    return pulumi.Output.all(*urns).apply(lambda _: check())


def only(typ):
    """The web client's one resource of a type (the lake has buckets and policies of its own)."""
    [inputs] = [inputs for name, inputs in declared(typ) if name.startswith("web-")]
    return inputs


@pulumi.runtime.test
def test_the_bucket_is_private_and_only_the_distribution_reads_it_over_tls():
    def check():
        block = only("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock")
        assert block["bucket"] == "web-files-id"
        for setting in ("block_public_acls", "block_public_policy", "ignore_public_acls", "restrict_public_buckets"):
            assert block[setting] is True, setting
        ownership = only("aws:s3/bucketOwnershipControls:BucketOwnershipControls")
        assert ownership["rule"]["object_ownership"] == "BucketOwnerEnforced"
        assert only("aws:s3/bucket:Bucket")["bucket_prefix"] == "debts-test-web-"

        policy = json.loads(only("aws:s3/bucketPolicy:BucketPolicy")["policy"])
        statements = policy["Statement"]
        readers = [s["Principal"] for s in statements if s["Effect"] == "Allow"]
        assert readers == [{"Service": "cloudfront.amazonaws.com"}]
        ours = {"AWS:SourceArn": DISTRIBUTION_ARN, "aws:SecureTransport": "true"}
        index = "arn:aws:s3:::web-files/index.html"
        assert allowed(statements, Request("s3:GetObject", index, ours))
        assert not allowed(statements, Request("s3:GetObject", index, {**ours, "aws:SecureTransport": "false"}))
        other = "arn:aws:cloudfront::000000000000:distribution/someone-elses"
        assert not allowed(statements, Request("s3:GetObject", index, {**ours, "AWS:SourceArn": other}))
        for action in ("s3:PutObject", "s3:DeleteObject", "s3:ListBucket"):
            assert not allowed(statements, Request(action, index, ours)), action
    return after_the_web_client(check)


@pulumi.runtime.test
def test_the_distribution_signs_with_origin_access_control_and_serves_https_only():
    def check():
        access = only("aws:cloudfront/originAccessControl:OriginAccessControl")
        assert (access["origin_access_control_origin_type"], access["signing_behavior"],
                access["signing_protocol"]) == ("s3", "always", "sigv4")
        distribution = only("aws:cloudfront/distribution:Distribution")
        [origin] = distribution["origins"]
        assert origin["domain_name"] == "web-files.s3.us-east-1.amazonaws.com"
        assert origin["origin_access_control_id"] == "web-origin-access-id"
        assert not origin.get("s3_origin_config"), "origin access control, not a legacy origin access identity"
        assert distribution["default_root_object"] == "index.html"
        behaviour = distribution["default_cache_behavior"]
        assert behaviour["target_origin_id"] == origin["origin_id"]
        assert behaviour["viewer_protocol_policy"] == "redirect-to-https"
        assert sorted(behaviour["allowed_methods"]) == ["GET", "HEAD"]
        assert behaviour["cache_policy_id"] == "web-cache-id"
        assert behaviour["response_headers_policy_id"] == "web-headers-id"
        # The objects' no-cache holds only when the policy's minimum TTL is 0.
        assert only("aws:cloudfront/cachePolicy:CachePolicy")["min_ttl"] == 0
    return after_the_web_client(check)


@pulumi.runtime.test
def test_the_page_has_the_local_gateways_headers_with_the_api_in_connect_src():
    def check():
        headers = only("aws:cloudfront/responseHeadersPolicy:ResponseHeadersPolicy")["security_headers_config"]
        policy = headers["content_security_policy"]
        assert policy["override"] is True
        directives = policy["content_security_policy"].split("; ")
        local = MANIFEST["content_security_policy"]
        assert directives == [f"connect-src 'self' {API_URL}" if d == "connect-src 'self'" else d for d in local]
        assert "connect-src 'self'" in local, "the local page talks to its own origin only"
        assert headers["content_type_options"]["override"] is True
        assert headers["frame_options"]["frame_option"] == "DENY"
        assert headers["strict_transport_security"]["access_control_max_age_sec"] >= 180 * 24 * 3600
    return after_the_web_client(check)


@pulumi.runtime.test
def test_every_file_of_the_client_is_uploaded_and_config_json_names_the_api():
    def check():
        objects = {inputs["key"]: inputs for _, inputs in declared("aws:s3/bucketObjectv2:BucketObjectv2")}
        expected = {"index.html" if f["path"] == "/" else f["path"][1:]: f for f in MANIFEST["files"]}
        assert set(objects) == set(expected) | {"config.json"}
        for key, entry in expected.items():
            uploaded = objects[key]
            assert uploaded["bucket"] == "web-files-id"
            assert uploaded["content_type"] == entry["content_type"], key
            assert uploaded["cache_control"] == "no-cache", key
            folder = REPO / "web" if entry["from"] == "web" else REPO / ".tools/web/node_modules/uplot/dist"
            assert Path(uploaded["source"].path) == folder / entry["file"], key
        config = objects["config.json"]
        assert json.loads(config["content"]) == {"api_url": API_URL}
        assert config["content_type"] == "application/json"
    return after_the_web_client(check)


def test_a_deploy_without_uplot_stops_before_it_starts(tmp_path):
    with pytest.raises(FileNotFoundError, match="make tools"):
        web_objects(vendor_dir=tmp_path)
    assert {o.key for o in web_objects()} >= {"index.html", "app.js", "vendor/uPlot.iife.min.js"}


@pulumi.runtime.test
def test_the_api_lets_the_page_send_and_read_the_headers_the_client_uses():
    client = "\n".join(path.read_text() for path in sorted((REPO / "web").glob("*.js")))
    sent = set(re.findall(r"sent\.([A-Za-z-]+)\s*=", client))
    sent |= set(re.findall(r"sent\[\"([A-Za-z-]+)\"\]\s*=", client))
    sent |= set(re.findall(r"headers:\s*\{\s*\"?([A-Za-z-]+)\"?:", client))
    read = set(re.findall(r"headers\.get\(\"([A-Za-z-]+)\"\)", client))
    assert {"Authorization", "Content-Type", "If-Match"} <= sent, sent

    def check():
        [(_, api)] = declared("aws:apigatewayv2/api:Api")
        cors = api["cors_configuration"]
        assert "*" in cors["allow_origins"] or "https://d111111abcdef8.cloudfront.net" in cors["allow_origins"]
        allowed_headers = {h.lower() for h in cors["allow_headers"]}
        exposed = {h.lower() for h in cors["expose_headers"]}
        assert {h.lower() for h in sent} - SAFELISTED_REQUEST <= allowed_headers, sent
        assert {h.lower() for h in read} - SAFELISTED_RESPONSE <= exposed, read
        assert "PUT" in cors["allow_methods"] and "DELETE" in cors["allow_methods"]
    return after_the_web_client(check)
