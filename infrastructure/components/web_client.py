"""The web client on AWS: its files (web/files.json: ours from web/, uPlot from the tools folder) as objects of
a private S3 bucket that only this stack's CloudFront distribution may read (origin access control), plus a
`config.json` naming the API's URL. The distribution answers with the headers the local gateway sends
(local/src/web.rs): the same Content-Security-Policy, whose connect-src also names the API, and nosniff."""

import json
import re
from dataclasses import dataclass
from pathlib import Path

import pulumi
import pulumi_aws as aws

REPO = Path(__file__).resolve().parents[2]
MANIFEST = json.loads((REPO / "web" / "files.json").read_text())
# Where `make tools` (and `make deploy`) put uPlot's built files.
VENDOR_DIR = REPO / ".tools" / "web" / "node_modules" / "uplot" / "dist"
# Every object is revalidated on each load, as the local gateway's files are: a deploy shows at once, and an
# index.html never runs with the app.js of another deploy for long. With a minimum TTL of 0 CloudFront honours
# the origin's `no-cache` ("If your minimum TTL is greater than 0, CloudFront will cache content for at least
# the duration specified ... even if the Cache-Control: no-cache ... directives are present":
# https://docs.aws.amazon.com/cloudfront/latest/APIReference/API_CachePolicyConfig.html).
CACHE_CONTROL = "no-cache"
# A year: the distribution is served over HTTPS only.
HSTS_SECONDS = 365 * 24 * 3600


@dataclass(frozen=True)
class WebObject:
    """One file of the client: its key in the bucket (its path without the leading slash; `/` is
    index.html, the distribution's default root object), where it is on disk, and its content type."""
    key: str
    source: Path
    content_type: str


def web_objects(web_dir: Path = REPO / "web", vendor_dir: Path = VENDOR_DIR) -> list[WebObject]:
    """The manifest's files, each found on disk; a missing one stops the program (a deploy without uPlot
    would serve a page that cannot draw its charts)."""
    objects = []
    for entry in MANIFEST["files"]:
        folder = web_dir if entry["from"] == "web" else vendor_dir
        source = folder / entry["file"]
        if not source.is_file():
            raise FileNotFoundError(f"{source} is missing: `make tools` installs uPlot into .tools/web "
                                    "(`make deploy` does it first)")
        key = "index.html" if entry["path"] == "/" else entry["path"].removeprefix("/")
        objects.append(WebObject(key, source, entry["content_type"]))
    return objects


def content_security_policy(api_url: str) -> str:
    """The page's policy as the manifest writes it, with the API's origin added to connect-src: on AWS the
    API is not the page's origin."""
    directives = [f"{d} {api_url}" if d.startswith("connect-src ") else d
                  for d in MANIFEST["content_security_policy"]]
    return "; ".join(directives)


class WebClient(pulumi.ComponentResource):
    def __init__(self, name: str, *, prefix: str, api_url: pulumi.Input[str], objects: list[WebObject],
                 opts: pulumi.ResourceOptions | None = None):
        super().__init__("debts:web:WebClient", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        # S3 names are lowercase letters, digits, dots and hyphens; a bucket_prefix is at most 37 characters.
        # force_destroy: the objects are built from the repository, nothing in the bucket is kept elsewhere.
        bucket_prefix = re.sub(r"[^a-z0-9.-]", "-", prefix.lower())[:32] + "-web-"
        self.bucket = aws.s3.Bucket(f"{name}-files", bucket_prefix=bucket_prefix,
                                    force_destroy=True, opts=child)
        aws.s3.BucketPublicAccessBlock(f"{name}-private", bucket=self.bucket.id, block_public_acls=True,
                                       block_public_policy=True, ignore_public_acls=True,
                                       restrict_public_buckets=True, opts=child)
        aws.s3.BucketOwnershipControls(
            f"{name}-ownership", bucket=self.bucket.id, opts=child,
            rule=aws.s3.BucketOwnershipControlsRuleArgs(object_ownership="BucketOwnerEnforced"))
        self.origin_access = aws.cloudfront.OriginAccessControl(
            f"{name}-origin-access", name=f"{prefix}-web"[:64], origin_access_control_origin_type="s3",
            signing_behavior="always", signing_protocol="sigv4",
            description="CloudFront signs every request to the client's bucket", opts=child)
        self.cache_policy = aws.cloudfront.CachePolicy(
            f"{name}-cache", name=f"{prefix}-web-cache"[:128], min_ttl=0, default_ttl=3600, max_ttl=86400,
            comment="The origin's Cache-Control decides (no-cache: revalidated on every load)",
            parameters_in_cache_key_and_forwarded_to_origin=aws.cloudfront.
            CachePolicyParametersInCacheKeyAndForwardedToOriginArgs(
                enable_accept_encoding_brotli=True, enable_accept_encoding_gzip=True,
                cookies_config={"cookie_behavior": "none"}, headers_config={"header_behavior": "none"},
                query_strings_config={"query_string_behavior": "none"}), opts=child)
        self.headers = aws.cloudfront.ResponseHeadersPolicy(
            f"{name}-headers", name=f"{prefix}-web-headers"[:128], opts=child,
            comment="The local gateway's page headers, with the API in connect-src",
            security_headers_config=aws.cloudfront.ResponseHeadersPolicySecurityHeadersConfigArgs(
                content_security_policy={"content_security_policy": pulumi.Output.from_input(api_url).apply(
                    content_security_policy), "override": True},
                content_type_options={"override": True},
                frame_options={"frame_option": "DENY", "override": True},
                referrer_policy={"referrer_policy": "no-referrer", "override": True},
                strict_transport_security={"access_control_max_age_sec": HSTS_SECONDS, "override": True}))
        origin = "web-bucket"
        self.distribution = aws.cloudfront.Distribution(
            f"{name}-distribution", enabled=True, is_ipv6_enabled=True, http_version="http2and3",
            comment=f"{prefix}: the web client", default_root_object="index.html", price_class="PriceClass_100",
            origins=[aws.cloudfront.DistributionOriginArgs(
                origin_id=origin, domain_name=self.bucket.bucket_regional_domain_name,
                origin_access_control_id=self.origin_access.id)],
            default_cache_behavior=aws.cloudfront.DistributionDefaultCacheBehaviorArgs(
                target_origin_id=origin, viewer_protocol_policy="redirect-to-https",
                allowed_methods=["GET", "HEAD"], cached_methods=["GET", "HEAD"], compress=True,
                cache_policy_id=self.cache_policy.id, response_headers_policy_id=self.headers.id),
            restrictions=aws.cloudfront.DistributionRestrictionsArgs(
                geo_restriction=aws.cloudfront.DistributionRestrictionsGeoRestrictionArgs(restriction_type="none")),
            viewer_certificate=aws.cloudfront.DistributionViewerCertificateArgs(cloudfront_default_certificate=True),
            opts=child)
        # Only this distribution reads the objects, and only over TLS: origin access control's bucket policy.
        # https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/private-content-restricting-access-to-s3.html
        self.bucket_policy = aws.s3.BucketPolicy(
            f"{name}-policy", bucket=self.bucket.id, opts=child,
            policy=pulumi.Output.all(self.bucket.arn, self.distribution.arn).apply(
                lambda arns: json.dumps(bucket_policy(*arns))))
        self.objects = [
            aws.s3.BucketObjectv2(f"{name}-{o.key}", bucket=self.bucket.id, key=o.key,
                                  source=pulumi.FileAsset(str(o.source)), content_type=o.content_type,
                                  cache_control=CACHE_CONTROL, opts=child)
            for o in objects
        ]
        self.config = aws.s3.BucketObjectv2(
            f"{name}-config.json", bucket=self.bucket.id, key="config.json", content_type="application/json",
            cache_control=CACHE_CONTROL, opts=child,
            content=pulumi.Output.from_input(api_url).apply(lambda url: json.dumps({"api_url": url})))
        self.url = self.distribution.domain_name.apply(lambda domain: f"https://{domain}")
        self.register_outputs({"url": self.url, "bucket": self.bucket.id})


def bucket_policy(bucket_arn: str, distribution_arn: str) -> dict:
    return {
        "Version": "2012-10-17",
        "Statement": [
            {"Sid": "TheDistributionReadsTheClient", "Effect": "Allow",
             "Principal": {"Service": "cloudfront.amazonaws.com"}, "Action": ["s3:GetObject"],
             "Resource": [f"{bucket_arn}/*"], "Condition": {"StringEquals": {"AWS:SourceArn": distribution_arn}}},
            {"Sid": "TlsOnly", "Effect": "Deny", "Principal": "*", "Action": ["s3:*"],
             "Resource": [bucket_arn, f"{bucket_arn}/*"], "Condition": {"Bool": {"aws:SecureTransport": "false"}}},
        ],
    }
