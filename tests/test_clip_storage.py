"""Uploads: S3 through boto3 against moto's S3 server on 127.0.0.1 (content type, user metadata,
a presigned URL that downloads the same bytes), and the local-folder target."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from reelforge.errors import InputError
from reelforge.providers.storage import open_target, parse_target
from reelforge.settings import Settings


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def moto_s3() -> Iterator[str]:
    port = _free_port()
    proc = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            httpx.get(url, timeout=1)
            break
        except httpx.TransportError:
            assert time.monotonic() < deadline and proc.poll() is None, "moto server did not start"
            time.sleep(0.1)
    yield url
    proc.terminate()
    proc.wait(10)


def s3_settings(tmp_path: Path, endpoint: str) -> Settings:
    return Settings(data_dir=tmp_path / "data", s3_endpoint_url=endpoint, s3_region="us-east-1",
                    s3_access_key_id="testing", s3_secret_access_key="testing")


def test_s3_upload_carries_metadata_and_a_presigned_url_that_downloads_the_same_bytes(
        tmp_path: Path, moto_s3: str) -> None:
    s = s3_settings(tmp_path, moto_s3)
    store, key = open_target("s3://clips/fox/clip.mp4", s)
    store.client.create_bucket(Bucket="clips")  # type: ignore[attr-defined]
    data = bytes(range(256)) * 4000
    path = tmp_path / "clip.mp4"
    path.write_bytes(data)
    answer = store.upload(path, key, "video/mp4", {"prompt": "a fox in snow — at dawn", "model": "veo-3.1",
                                                   "run-id": "r1"})
    head = store.client.head_object(Bucket="clips", Key="fox/clip.mp4")  # type: ignore[attr-defined]
    assert head["ContentType"] == "video/mp4"
    assert head["Metadata"]["model"] == "veo-3.1" and head["Metadata"]["run-id"] == "r1"
    assert "fox in snow" in head["Metadata"]["prompt"]
    assert answer["key"] == "fox/clip.mp4" and "X-Amz-Signature" in answer["url"] and answer["expires_s"] == 3600
    assert httpx.get(answer["url"]).content == data


def test_the_clip_job_uploads_what_it_made(tmp_path: Path, moto_s3: str) -> None:
    import boto3

    from reelforge.pipelines.clip import ClipJob

    s = s3_settings(tmp_path, moto_s3)
    boto3.client("s3", endpoint_url=moto_s3, region_name="us-east-1", aws_access_key_id="testing",
                 aws_secret_access_key="testing").create_bucket(Bucket="out")
    result = ClipJob("a fox", tmp_path / "fox.mp4", s, duration=1, upload="s3://out/c/fox.mp4").run()
    assert result.report.state == "succeeded"
    upload = result.uploads[0]
    assert httpx.get(upload["url"]).content == result.files[0].read_bytes()


def test_local_folder_target_and_bad_targets(tmp_path: Path) -> None:
    store, key = open_target(f"file://{tmp_path}/shelf/a.mp4", Settings(data_dir=tmp_path))
    src = tmp_path / "x.mp4"
    src.write_bytes(b"abc")
    answer = store.upload(src, key, "video/mp4", {"prompt": "p"})
    assert (tmp_path / "shelf" / "a.mp4").read_bytes() == b"abc"
    assert json.loads((tmp_path / "shelf" / "a.mp4.json").read_text())["metadata"] == {"prompt": "p"}
    assert answer["url"].startswith("file://")
    for bad in ("ftp://x/y", "s3://bucket-only", "gs://bucket-only", "cloudinary://"):
        with pytest.raises(InputError) as info:
            parse_target(bad)
        assert info.value.field == "--upload"


def test_cloudinary_upload_is_signed_as_documented_and_chunks_large_files(tmp_path: Path) -> None:
    from reelforge.providers.storage.cloudinary import CloudinaryStorage, context_value
    from tests.fakes.cloudinary_api import API_KEY, API_SECRET, CLOUD, FakeCloudinary

    data = bytes(range(256)) * 300
    path = tmp_path / "clip.mp4"
    path.write_bytes(data)
    with FakeCloudinary() as fake:
        s = Settings(data_dir=tmp_path, cloudinary_url=f"cloudinary://{API_KEY}:{API_SECRET}@{CLOUD}",
                     cloudinary_base_url=fake.url)
        store, key = open_target("cloudinary://clips/fox", s)
        answer = store.upload(path, key, "video/mp4", {"prompt": "a fox | snow = cold", "model": "veo"})
        assert answer["key"] == "clips/fox" and answer["url"].endswith("clips/fox.mp4")
        assert fake.assets["clips/fox"]["bytes"] == data
        assert fake.assets["clips/fox"]["context"]["model"] == "veo"
        chunked = CloudinaryStorage("big", s, chunk_bytes=10_000)
        chunked.upload(path, "clip", "video/mp4", {})
        assert fake.assets["big/clip"]["bytes"] == data
        assert sum(1 for r in fake.requests if "content-range" in r["headers"]) == 8
        bad = Settings(data_dir=tmp_path, cloudinary_url=f"cloudinary://{API_KEY}:wrong@{CLOUD}",
                       cloudinary_base_url=fake.url)
        from reelforge.errors import ProviderError

        with pytest.raises(ProviderError, match="Invalid Signature"):
            CloudinaryStorage("x", bad).upload(path, "y", "video/mp4", {})
    assert context_value({"a": "x=y|z"}) == "a=x\\=y\\|z"


def test_gcs_upload_with_metadata_resumable_chunks_and_a_signed_url(tmp_path: Path) -> None:
    from google.oauth2 import service_account

    from reelforge.providers.storage.gcs import GCSStorage
    from tests.fakes.gcs_api import FakeGCS, service_account_info

    data = bytes(range(256)) * 4096  # 1 MiB
    path = tmp_path / "clip.mp4"
    path.write_bytes(data)
    with FakeGCS() as fake:
        key_file = tmp_path / "sa.json"
        key_file.write_text(json.dumps(service_account_info(f"{fake.url}/token")))
        s = Settings(data_dir=tmp_path, gcs_endpoint_url=fake.url, google_application_credentials=key_file)
        store, key = open_target("gs://clips/fox/clip.mp4", s)
        answer = store.upload(path, key, "video/mp4", {"prompt": "a fox", "run-id": "r1"})
        stored = fake.objects[("clips", "fox/clip.mp4")]
        assert stored["data"] == data and stored["contentType"] == "video/mp4"
        assert stored["metadata"] == {"prompt": "a fox", "run-id": "r1"}
        assert "X-Goog-Signature" in answer["url"]
        assert httpx.get(answer["url"]).content == data
        credentials = service_account.Credentials.from_service_account_file(
            str(key_file), scopes=["https://www.googleapis.com/auth/devstorage.read_write"])
        big = tmp_path / "big.mp4"
        big.write_bytes(data * 9)  # 9 MiB: above the library's 8 MiB multipart limit → resumable
        chunked = GCSStorage("clips", s, credentials=credentials, resumable_bytes=1000, chunk_bytes=4 * 1024 * 1024)
        chunked.upload(big, "big.mp4", "video/mp4", {})
        assert fake.objects[("clips", "big.mp4")]["data"] == data * 9
        assert sum(1 for method, _ in fake.calls if method == "PUT") == 3  # 4 + 4 + 1 MiB
