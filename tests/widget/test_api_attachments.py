"""The attachments API: upload (multipart, streamed within the limit), download by signed link or token, refusals."""
from __future__ import annotations

import asyncio
import hashlib
from datetime import timedelta

import pytest
from sqlmodel import func, select

from core.models import Attachment, AttachmentBlob, Message
from tests.widget.conftest import bearer, error_code, start
from widget.errors import ApiError
from widget.uploads import read_uploaded_file

PNG_BYTES = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + bytes(100)


def upload(client, data, name="screenshot.png", content=PNG_BYTES, field="file"):
    return client.post(f"/api/v1/conversations/{data['conversation']['id']}/attachments",
                       files={field: (name, content, "application/octet-stream")}, headers=bearer(data["token"]))


def test_upload_answers_201_with_the_file_and_posts_a_message_carrying_it(client, db):
    data = start(client)
    response = upload(client, data)
    assert response.status_code == 201, response.text
    found = response.json()
    assert set(found) == {"id", "name", "type", "size", "sha256", "url"}
    assert found["name"] == "screenshot.png" and found["type"] == "image/png" and found["size"] == len(PNG_BYTES)
    assert found["sha256"] == hashlib.sha256(PNG_BYTES).hexdigest()
    transcript = client.get(f"/api/v1/conversations/{data['conversation']['id']}/messages",
                            headers=bearer(data["token"])).json()["messages"]
    assert transcript[-1]["author"] == "end_user" and transcript[-1]["body"] == "screenshot.png"
    assert [a["id"] for a in transcript[-1]["attachments"]] == [found["id"]]
    with db.read_session() as session:
        attachment = session.exec(select(Attachment)).one()
        assert session.get(Message, attachment.message_id).seq == transcript[-1]["seq"]


def test_the_url_downloads_the_same_bytes_as_a_safe_attachment(client):
    data = start(client)
    found = upload(client, data, name="Grüße \"report\".txt", content=b"plain words\n").json()
    assert found["name"] == "Grüße _report_.txt"  # quotes never reach a header
    response = client.get(found["url"])  # the signed link alone: no bearer token, as in an email or an <img>
    assert response.status_code == 200 and response.content == b"plain words\n"
    assert response.headers["content-type"] == "text/plain; charset=utf-8"
    assert response.headers["content-disposition"].startswith("attachment;")
    assert "filename*=UTF-8''Gr%C3%BC%C3%9Fe%20_report_.txt" in response.headers["content-disposition"]
    assert response.headers["x-content-type-options"] == "nosniff"
    assert "sandbox" in response.headers["content-security-policy"]
    assert "default-src 'none'" in response.headers["content-security-policy"]


def test_images_may_be_inline_when_asked_and_everything_else_never(client):
    data = start(client)
    image = upload(client, data).json()
    assert client.get(image["url"] + "&inline=1").headers["content-disposition"].startswith("inline;")
    assert client.get(image["url"]).headers["content-disposition"].startswith("attachment;")
    svg = upload(client, data, name="x.svg", content=b"<svg xmlns='http://www.w3.org/2000/svg'/>").json()
    response = client.get(svg["url"] + "&inline=1")
    assert svg["type"] == "text/plain" and response.headers["content-disposition"].startswith("attachment;")
    assert response.headers["content-type"].startswith("text/plain")


def test_the_end_users_token_downloads_too_and_nobody_elses_does(client):
    mine, someone = start(client), start(client)
    found = upload(client, mine).json()
    path = found["url"].split("?")[0]
    assert client.get(path, headers=bearer(mine["token"])).content == PNG_BYTES
    response = client.get(path, headers=bearer(someone["token"]))
    assert response.status_code == 404 and error_code(response) == "not_found"
    assert client.get(path).status_code == 401


def test_expired_forged_and_foreign_conversation_links_are_refused(client, clock, signer, db):
    mine, someone = start(client), start(client)
    found = upload(client, mine).json()
    upload(client, someone)
    with db.read_session() as session:
        attachment = session.exec(select(Attachment).where(Attachment.public_id == found["id"])).one()
        theirs = session.exec(select(Attachment).where(Attachment.public_id != found["id"])).one()
    path = found["url"].split("?")[0]
    foreign = signer.attachment_link_token(attachment.id, theirs.conversation_id, clock.now() + timedelta(days=1))
    assert client.get(f"{path}?token={foreign}").status_code == 404
    other_file = signer.attachment_link_token(theirs.id, theirs.conversation_id, clock.now() + timedelta(days=1))
    assert client.get(f"{path}?token={other_file}").status_code == 404
    assert client.get(found["url"][:-3] + "aaa").status_code == 404
    clock.advance(timedelta(days=7, seconds=1))
    response = client.get(found["url"])
    assert response.status_code == 404 and error_code(response) == "not_found"


def test_too_large_is_413_and_stores_nothing(client, widget_config, make_client, db):
    widget_config.attachments.max_bytes = 1000
    small = make_client()
    data = start(small)
    response = upload(small, data, content=b"x" * 1001)
    assert response.status_code == 413 and error_code(response) == "attachment_too_large"
    assert upload(small, data, content=b"x" * 1000).status_code == 201
    with db.read_session() as session:
        assert session.exec(select(func.count()).select_from(Attachment)).one() == 1


def test_a_huge_body_is_refused_while_streaming_without_being_read_whole():
    # The reader itself, fed as the server feeds it: it stops pulling chunks once the file passes the limit.
    # (Starlette's TestClient buffers a whole request body before the app sees it, so this runs the reader directly.)
    pulled = {"chunks": 0}

    async def endless():
        yield b'--xyz\r\nContent-Disposition: form-data; name="file"; filename="big.txt"\r\n\r\n'
        for _ in range(100_000):  # 6.4 GB if it were all read
            pulled["chunks"] += 1
            yield b"x" * 65536

    with pytest.raises(ApiError) as refused:
        asyncio.run(read_uploaded_file("multipart/form-data; boundary=xyz", None, endless(), 100_000))
    assert refused.value.code == "attachment_too_large"
    assert pulled["chunks"] <= 2


def test_the_reader_keeps_exactly_the_file_part():
    body = (b'--b\r\nContent-Disposition: form-data; name="note"\r\n\r\nhello\r\n'
            b'--b\r\nContent-Disposition: form-data; name="file"; filename="a%22b.txt"\r\n'
            b'Content-Type: text/plain\r\n\r\nline one\r\n--not the boundary\r\n--b--\r\n')

    async def chunks():
        for index in range(0, len(body), 7):  # boundaries split across chunks
            yield body[index:index + 7]

    found = asyncio.run(read_uploaded_file("multipart/form-data; boundary=b", str(len(body)), chunks(), 1000))
    assert found.name == 'a"b.txt' and found.content == b"line one\r\n--not the boundary"


def test_content_length_over_the_limit_is_refused_before_reading(client, widget_config, make_client):
    widget_config.attachments.max_bytes = 1000
    small = make_client()
    data = start(small)
    response = small.post(f"/api/v1/conversations/{data['conversation']['id']}/attachments",
                          content=b"--xyz--\r\n", headers={**bearer(data["token"]), "Content-Length": "999999999",
                                                           "Content-Type": "multipart/form-data; boundary=xyz"})
    assert response.status_code == 413 and error_code(response) == "attachment_too_large"


def test_types_not_allowed_are_415_whatever_the_name(client, db):
    data = start(client)
    response = upload(client, data, name="holiday.png", content=b"MZ\x90\x00\x03" + bytes(100))
    assert response.status_code == 415 and error_code(response) == "attachment_type_not_allowed"
    with db.read_session() as session:
        assert session.exec(select(func.count()).select_from(AttachmentBlob)).one() == 0
        assert session.exec(select(func.count()).select_from(Message)).one() == 0


def test_refusals_are_in_the_readers_language(client):
    data = start(client)
    response = client.post(f"/api/v1/conversations/{data['conversation']['id']}/attachments?lang=de",
                           files={"file": ("x.exe", b"MZ\x90\x00", "application/octet-stream")},
                           headers=bearer(data["token"]))
    assert response.status_code == 415 and response.json()["error"]["message"]


def test_upload_needs_the_field_the_token_and_the_own_conversation(client):
    data, other = start(client), start(client)
    assert error_code(upload(client, data, field="photo")) == "invalid_input"
    response = client.post(f"/api/v1/conversations/{data['conversation']['id']}/attachments",
                           files={"file": ("a.png", PNG_BYTES, "image/png")})
    assert response.status_code == 401
    foreign = {"conversation": data["conversation"], "token": other["token"]}
    assert upload(client, foreign).status_code == 404
    assert error_code(client.post(f"/api/v1/conversations/{data['conversation']['id']}/attachments",
                                  json={"file": "x"}, headers=bearer(data["token"]))) == "invalid_input"


def test_uploads_are_rate_limited_like_other_writes(client, widget_config, make_client):
    widget_config.widget.rate_limit_per_minute = 2
    limited = make_client()
    data = start(limited)
    statuses = [upload(limited, data).status_code for _ in range(3)]
    assert statuses[:1] == [201] and statuses[-1] == 429
