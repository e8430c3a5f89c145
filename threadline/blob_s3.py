"""The S3-compatible attachment store (boto3), and installing the configured store into core at start-up."""
from __future__ import annotations

import importlib
import logging
from typing import Any

from core.blob_store import BlobStoreUnavailable, use_blob_store
from core.config import AttachmentsConfig
from core.errors import ConfigError
from core.i18n import _

log = logging.getLogger(__name__)


def _client_library() -> tuple[Any, tuple[type[BaseException], ...]]:
    """boto3 and the errors its calls raise, imported only when the S3 store is configured (an optional extra;
    imported by name because it ships no type hints)."""
    try:
        boto3 = importlib.import_module("boto3")
        errors = importlib.import_module("botocore.exceptions")
    except ImportError:
        raise ConfigError(_("attachments.store is s3, which needs the boto3 package; install it with: "
                            "pip install 'threadline[s3]'")) from None
    return boto3, (errors.BotoCoreError, errors.ClientError)


class S3BlobStore:
    """Each file's bytes as one object, key prefix + SHA-256, in a bucket of an S3-compatible server."""

    name = "s3"

    def __init__(self, bucket: str, *, prefix: str = "attachments/", endpoint: str = "", region: str = "",
                 client: Any = None) -> None:
        self.bucket = bucket
        self.prefix = prefix
        self.endpoint = endpoint
        boto3, self._errors = _client_library()
        # Bounded waits: a request thread (an upload, a download) fails with a clear error instead of hanging on an
        # unreachable server; botocore's default retries with backoff would hold it for many seconds.
        settings = importlib.import_module("botocore.config").Config(
            connect_timeout=5, read_timeout=60, retries={"max_attempts": 2, "mode": "standard"})
        # Credentials: the standard AWS chain (environment, shared files, instance roles), never the TOML file.
        self.client = client or boto3.client("s3", endpoint_url=endpoint or None, region_name=region or None,
                                             config=settings)

    def key(self, sha256: str) -> str:
        return f"{self.prefix}{sha256}"

    def _unavailable(self, action: str, sha256: str, error: BaseException) -> BlobStoreUnavailable:
        log.warning("S3 attachment store failed", extra={"action": action, "bucket": self.bucket,
                                                         "key": self.key(sha256), "error": str(error)})
        return BlobStoreUnavailable(_("The file store could not be reached; try again in a moment."))

    def put(self, sha256: str, content: bytes) -> None:
        try:
            self.client.put_object(Bucket=self.bucket, Key=self.key(sha256), Body=content,
                                   ContentType="application/octet-stream")
        except self._errors as error:
            raise self._unavailable("put", sha256, error) from None

    def get(self, sha256: str) -> bytes:
        try:
            return bytes(self.client.get_object(Bucket=self.bucket, Key=self.key(sha256))["Body"].read())
        except self._errors as error:
            raise self._unavailable("get", sha256, error) from None

    def delete(self, sha256: str) -> None:
        try:
            self.client.delete_object(Bucket=self.bucket, Key=self.key(sha256))
        except self._errors as error:
            raise self._unavailable("delete", sha256, error) from None

    def reachable(self) -> str | None:
        """None when the bucket answers with these credentials, else why not (for doctor)."""
        try:
            self.client.head_bucket(Bucket=self.bucket)
        except self._errors as error:
            return str(error)
        return None

    def describe(self) -> str:
        """Where the objects go, for logs and doctor: s3://bucket/prefix at the endpoint."""
        return f"s3://{self.bucket}/{self.prefix}" + (f" at {self.endpoint}" if self.endpoint else "")


def s3_store(config: AttachmentsConfig) -> S3BlobStore:
    return S3BlobStore(config.s3_bucket, prefix=config.s3_prefix, endpoint=config.s3_endpoint,
                       region=config.s3_region)


def install_blob_store(config: AttachmentsConfig) -> None:
    """Make core store new files where config says; an S3 bucket that is configured but not chosen stays readable,
    so switching back to the database keeps the files stored in S3 meanwhile."""
    if config.store == "s3":
        use_blob_store(s3_store(config))
    else:
        use_blob_store(None)
        if config.s3_bucket:
            use_blob_store(s3_store(config), write=False)


def check_blob_store(config: AttachmentsConfig) -> tuple[bool, str]:
    """doctor's line about where attachment bytes go: (ok, line); never "ok:"/"FAIL:", which are the database's."""
    if config.store != "s3":
        return True, _("attachment store: the database (attachments.store = database)")
    try:
        store = s3_store(config)
    except ConfigError as error:
        return False, _("problem: attachment store: {error}").format(error=error.message)
    problem = store.reachable()
    if problem is not None:
        return False, _("problem: attachment store: the S3 bucket {where} cannot be used: {error}; check "
                        "attachments.s3_bucket, attachments.s3_endpoint and the AWS credentials (environment or "
                        "~/.aws)").format(
            where=store.describe(), error=problem)
    return True, _("attachment store: {where}, reachable").format(where=store.describe())
