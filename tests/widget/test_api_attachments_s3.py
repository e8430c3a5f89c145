"""The S3 attachment store against a real S3-compatible server (moto's, over HTTP on loopback): uploads land in the
bucket, files stored in the database before the switch stay readable, erasure deletes only unshared objects."""
from __future__ import annotations

import hashlib
import socket
import sys
import uuid

import boto3
import pytest
from moto.server import ThreadedMotoServer
from sqlalchemy import text
from sqlmodel import select

from core.attachments import AttachmentService
from core.blob_store import use_blob_store, writing_store
from core.config import Config, load_config
from core.errors import ConfigError
from core.models import Attachment, AttachmentBlob, Conversation
from core.transactions import transactional
from tests.core.test_cli_and_schema import run_cli
from tests.widget.conftest import bearer, conversation_row, error_code, start
from tests.widget.test_api_attachments import PNG_BYTES, upload
from threadline.blob_s3 import install_blob_store

AWS_ENV = {"AWS_ACCESS_KEY_ID": "threadline-test", "AWS_SECRET_ACCESS_KEY": "threadline-test-secret",
           "AWS_DEFAULT_REGION": "us-east-1"}


@pytest.fixture(scope="module")
def s3_server():
    """moto's S3 server in a thread, on a free loopback port; each test makes its own bucket in it."""
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture
def s3(s3_server, monkeypatch):
    """A fresh bucket, the credentials in the environment (the AWS chain reads them there), and a boto3 client of
    the test's own to look into the bucket; the process's store is back to the database afterwards."""
    for name, value in AWS_ENV.items():
        monkeypatch.setenv(name, value)
    bucket = f"threadline-{uuid.uuid4().hex[:12]}"
    client = boto3.client("s3", endpoint_url=s3_server, region_name="us-east-1")
    client.create_bucket(Bucket=bucket)
    yield {"endpoint": s3_server, "bucket": bucket, "client": client}
    use_blob_store(None)


def s3_config(s3, store: str = "s3") -> Config:
    config = Config()
    config.attachments.store = store
    config.attachments.s3_endpoint = s3["endpoint"]
    config.attachments.s3_bucket = s3["bucket"]
    return config


def keys(s3) -> list[str]:
    return sorted(item["Key"] for item in s3["client"].list_objects_v2(Bucket=s3["bucket"]).get("Contents", []))


def object_bytes(s3, key: str) -> bytes:
    return s3["client"].get_object(Bucket=s3["bucket"], Key=key)["Body"].read()


def test_an_upload_lands_in_the_bucket_not_the_database_and_downloads_byte_identical(s3, client, db):
    install_blob_store(s3_config(s3).attachments)
    data = start(client)
    response = upload(client, data)
    assert response.status_code == 201, response.text
    digest = hashlib.sha256(PNG_BYTES).hexdigest()
    assert keys(s3) == [f"attachments/{digest}"]
    assert object_bytes(s3, f"attachments/{digest}") == PNG_BYTES
    with db.read_session() as session:
        blob = session.get(AttachmentBlob, digest)
        assert blob is not None and blob.store == "s3" and blob.content is None and blob.size == len(PNG_BYTES)
    found = response.json()
    assert client.get(found["url"]).content == PNG_BYTES
    assert client.get(found["url"].split("?")[0], headers=bearer(data["token"])).content == PNG_BYTES
    again = upload(client, data, name="again.png")  # the same bytes: the same object, one row
    assert again.status_code == 201 and keys(s3) == [f"attachments/{digest}"]


@pytest.mark.sqlite_only(reason="SQLite's one write lock; PostgreSQL writers do not wait for each other like this")
def test_the_upload_happens_before_the_write_transaction_so_other_writers_never_wait_for_it(s3, client, db):
    install_blob_store(s3_config(s3).attachments)
    data = start(client)
    during_upload: list[str] = []

    def write_while_uploading(**_kwargs) -> None:
        # Another writer, in the middle of the real PUT: it would wait (then fail) if the upload held the lock.
        with db.session() as session:
            session.execute(text("UPDATE enduser SET name = name WHERE id = -1"))
            session.commit()
        during_upload.append("written")

    writing_store().client.meta.events.register("before-send.s3.PutObject", write_while_uploading)
    assert upload(client, data).status_code == 201
    assert during_upload == ["written"]


def test_files_stored_before_switching_stay_readable_and_switching_back_keeps_the_s3_ones(s3, client, db, caplog):
    data = start(client)
    before = upload(client, data, name="before.txt", content=b"stored in the database\n").json()
    install_blob_store(s3_config(s3).attachments)
    after = upload(client, data, name="after.txt", content=b"stored in S3\n").json()
    assert keys(s3) == [f"attachments/{after['sha256']}"]
    with db.read_session() as session:
        assert session.get(AttachmentBlob, before["sha256"]).content == b"stored in the database\n"
        assert session.get(AttachmentBlob, before["sha256"]).store == "database"
    assert client.get(before["url"]).content == b"stored in the database\n"
    assert client.get(after["url"]).content == b"stored in S3\n"

    install_blob_store(s3_config(s3, store="database").attachments)  # back: the bucket stays readable
    newest = upload(client, data, name="newest.txt", content=b"back in the database\n").json()
    assert keys(s3) == [f"attachments/{after['sha256']}"]
    assert client.get(after["url"]).content == b"stored in S3\n"
    assert client.get(newest["url"]).content == b"back in the database\n"
    use_blob_store(None)  # no bucket configured at all: the S3 file cannot be read, and the log says why
    response = client.get(after["url"])
    assert response.status_code == 500 and error_code(response) == "internal_error"
    assert "the attachments.s3_* settings" in caplog.text


def test_erasure_deletes_an_object_only_when_no_other_attachment_shares_it(s3, client, db, database_url, tmp_path):
    install_blob_store(s3_config(s3).attachments)
    alice, bob = start(client), start(client)
    shared = upload(client, alice, name="shared.png").json()
    upload(client, bob, name="same-bytes.png")
    own = upload(client, alice, name="own.txt", content=b"only Alice has this\n").json()
    assert keys(s3) == sorted(f"attachments/{found['sha256']}" for found in (shared, own))
    alice_id = conversation_row(db, alice["conversation"]["id"]).end_user_id
    bob_id = conversation_row(db, bob["conversation"]["id"]).end_user_id
    env = {**AWS_ENV, "THREADLINE_DATABASE_URL": database_url, "THREADLINE_ATTACHMENTS_STORE": "s3",
           "THREADLINE_ATTACHMENTS_S3_ENDPOINT": s3["endpoint"], "THREADLINE_ATTACHMENTS_S3_BUCKET": s3["bucket"]}

    erased = run_cli("end-user", "erase", str(alice_id), "--yes", data_dir=tmp_path, extra_env=env)
    assert erased.returncode == 0, erased.stderr
    assert keys(s3) == [f"attachments/{shared['sha256']}"]  # Bob's file still needs the shared bytes
    assert client.get(client.get(f"/api/v1/conversations/{bob['conversation']['id']}/messages",
                                 headers=bearer(bob["token"])).json()["messages"][-1]["attachments"][0]["url"]
                      ).content == PNG_BYTES

    erased = run_cli("end-user", "erase", str(bob_id), "--yes", data_dir=tmp_path, extra_env=env)
    assert erased.returncode == 0, erased.stderr
    assert keys(s3) == []
    with db.read_session() as session:
        assert session.exec(select(AttachmentBlob)).all() == []


def test_an_unreachable_store_refuses_the_upload_and_records_nothing(s3, client, db, caplog):
    with socket.socket() as probe:  # a loopback port nobody listens on
        probe.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{probe.getsockname()[1]}"
    config = s3_config(s3)
    config.attachments.s3_endpoint = closed
    install_blob_store(config.attachments)
    data = start(client)
    response = upload(client, data)
    assert response.status_code == 500 and error_code(response) == "internal_error"
    assert response.json()["error"]["message"] == "The file store could not be reached; try again in a moment."
    assert "S3 attachment store failed" in caplog.text
    with db.read_session() as session:
        assert session.exec(select(AttachmentBlob)).all() == [] and session.exec(select(Attachment)).all() == []
    transcript = client.get(f"/api/v1/conversations/{data['conversation']['id']}/messages",
                            headers=bearer(data["token"])).json()["messages"]
    assert "screenshot.png" not in [message["body"] for message in transcript]  # no message was posted either


class _ErasureThatFails:
    """Deletes an end user's files and then fails, in one transaction (as an erasure failing later would)."""

    def __init__(self, session, clock) -> None:
        self.session = session
        self.clock = clock

    @transactional
    def erase(self, end_user_id: int) -> None:
        AttachmentService(self.session, self.clock).delete_attachments_of_end_user(end_user_id)
        raise RuntimeError("a later step of the erasure failed")


def test_a_rolled_back_erasure_deletes_no_object(s3, client, db, clock):
    install_blob_store(s3_config(s3).attachments)
    data = start(client)
    found = upload(client, data).json()
    end_user_id = conversation_row(db, data["conversation"]["id"]).end_user_id
    with db.session() as session:
        with pytest.raises(RuntimeError):
            _ErasureThatFails(session, clock).erase(end_user_id)
        assert keys(s3) == [f"attachments/{found['sha256']}"]
        session.exec(select(Conversation)).all()  # a later commit of the same session deletes nothing either
        session.commit()
    assert keys(s3) == [f"attachments/{found['sha256']}"]
    with db.read_session() as session:
        assert len(session.exec(select(Attachment)).all()) == 1
    assert client.get(found["url"]).content == PNG_BYTES


def test_the_settings_come_from_the_environment_and_mistakes_name_the_fix(s3, monkeypatch, tmp_path):
    empty = tmp_path / "threadline.toml"
    empty.write_text("")
    config = load_config(empty, environ={
        "THREADLINE_ATTACHMENTS_STORE": "s3", "THREADLINE_ATTACHMENTS_S3_BUCKET": "files",
        "THREADLINE_ATTACHMENTS_S3_PREFIX": "desk/", "THREADLINE_ATTACHMENTS_S3_REGION": "eu-central-1",
        "THREADLINE_ATTACHMENTS_S3_ENDPOINT": "http://127.0.0.1:9"})
    assert (config.attachments.store, config.attachments.s3_bucket, config.attachments.s3_prefix,
            config.attachments.s3_region, config.attachments.s3_endpoint) == (
        "s3", "files", "desk/", "eu-central-1", "http://127.0.0.1:9")
    assert Config().attachments.store == "database" and Config().attachments.s3_prefix == "attachments/"

    with pytest.raises(ConfigError, match="s3_bucket is empty"):
        load_config(empty, environ={"THREADLINE_ATTACHMENTS_STORE": "s3"})
    with pytest.raises(ConfigError, match="must be database or s3, not 'disk'"):
        load_config(empty, environ={"THREADLINE_ATTACHMENTS_STORE": "disk"})
    monkeypatch.setitem(sys.modules, "boto3", None)  # as if the s3 extra were not installed
    with pytest.raises(ConfigError, match=r"pip install 'threadline\[s3\]'"):
        install_blob_store(s3_config(s3).attachments)


def test_doctor_says_where_files_go_and_whether_the_bucket_answers(s3, database_url, tmp_path):
    env = {**AWS_ENV, "THREADLINE_DATABASE_URL": database_url, "THREADLINE_ATTACHMENTS_STORE": "s3",
           "THREADLINE_ATTACHMENTS_S3_ENDPOINT": s3["endpoint"], "THREADLINE_ATTACHMENTS_S3_BUCKET": s3["bucket"]}
    assert run_cli("init", data_dir=tmp_path, extra_env=env).returncode == 0
    doctor = run_cli("doctor", data_dir=tmp_path, extra_env=env)
    assert doctor.returncode == 0, doctor.stdout + doctor.stderr
    assert f"attachment store: s3://{s3['bucket']}/attachments/ at {s3['endpoint']}, reachable" in doctor.stdout
    assert "threadline-test-secret" not in doctor.stdout  # credentials stay in the AWS chain, never printed

    doctor = run_cli("doctor", data_dir=tmp_path, extra_env={**env, "THREADLINE_ATTACHMENTS_S3_BUCKET": "no-such"})
    assert doctor.returncode == 1
    assert "problem: attachment store: the S3 bucket s3://no-such/attachments/" in doctor.stdout
    assert "AWS credentials" in doctor.stdout
