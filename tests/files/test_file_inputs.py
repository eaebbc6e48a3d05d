"""Local files in inputs: validation (before anything is sent) and resolution to URLs."""

from __future__ import annotations

import base64
import io
import json
from pathlib import Path
from typing import Annotated, Any

import pydantic
import pytest
from pydantic import Field

from fal_typed._files import (
    LocalFile,
    encode_arguments_with_files,
    encode_model_with_files,
    sniff_content_type,
)

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 24


class Inner(pydantic.BaseModel):
    model_config = pydantic.ConfigDict(extra="forbid")
    mask_url: Annotated[str, Field(min_length=1)] | LocalFile


class Input(pydantic.BaseModel):
    model_config = pydantic.ConfigDict(extra="forbid")
    prompt: str
    image_url: Annotated[str, Field(min_length=1)] | LocalFile | None = None
    image_urls: list[str | LocalFile] = []
    inner: Inner | None = None


class Uploads:
    def __init__(self) -> None:
        self.calls: list[tuple[Any, dict[str, Any]]] = []

    def __call__(self, source: Any, **kwargs: Any) -> str:
        self.calls.append((source, kwargs))
        return f"https://cdn.example/{len(self.calls)}"


def body(model: pydantic.BaseModel, uploads: Uploads, mode: Any = "upload", **kw: Any) -> Any:
    return json.loads(encode_model_with_files(model, mode=mode, upload=uploads, **kw))


def test_urls_pass_through_untouched_and_nothing_is_uploaded() -> None:
    uploads = Uploads()
    model = Input(
        prompt="x",
        image_url="https://a.example/x.png",
        image_urls=["data:image/png;base64,AAAA", "https://b.example/y"],
    )
    assert body(model, uploads) == {
        "prompt": "x",
        "image_url": "https://a.example/x.png",
        "image_urls": ["data:image/png;base64,AAAA", "https://b.example/y"],
    }
    assert uploads.calls == []


def test_paths_bytes_and_file_objects_are_uploaded_in_nested_fields_and_lists(
    tmp_path: Path,
) -> None:
    photo = tmp_path / "photo.jpg"
    photo.write_bytes(b"\xff\xd8\xff" + b"1" * 10)
    stream = io.BytesIO(b"stream")
    uploads = Uploads()
    model = Input(
        prompt="x",
        image_url=photo,
        image_urls=["https://keep.example/a", PNG, stream],
        inner=Inner(mask_url=photo),
    )
    sent = body(model, uploads)
    assert sent["image_url"] == "https://cdn.example/1"
    assert sent["image_urls"] == [
        "https://keep.example/a",
        "https://cdn.example/2",
        "https://cdn.example/3",
    ]
    assert sent["inner"] == {"mask_url": "https://cdn.example/4"}
    assert [type(source).__name__ for source, _ in uploads.calls] == [
        "PosixPath",
        "bytes",
        "BytesIO",
        "PosixPath",
    ]
    assert uploads.calls[1][1] == {"content_type": "image/png"}  # sniffed from the bytes


def test_the_same_object_is_uploaded_once(tmp_path: Path) -> None:
    uploads = Uploads()
    data = PNG
    sent = body(Input(prompt="x", image_urls=[data, data]), uploads)
    assert sent["image_urls"] == ["https://cdn.example/1"] * 2
    assert len(uploads.calls) == 1


def test_missing_file_fails_validation_naming_field_and_path(tmp_path: Path) -> None:
    missing = tmp_path / "nope.png"
    with pytest.raises(pydantic.ValidationError) as info:
        Input(prompt="x", image_urls=[missing])
    text = str(info.value)
    assert "image_urls.0" in text and str(missing) in text and "does not exist" in text
    with pytest.raises(pydantic.ValidationError, match="is a directory"):
        Input(prompt="x", image_url=tmp_path)


@pytest.mark.parametrize("value", [5, 1.5, {"a": 1}, object()])
def test_other_types_are_refused(value: Any) -> None:
    with pytest.raises(pydantic.ValidationError, match="image_url"):
        Input(prompt="x", image_url=value)


def test_text_mode_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "a.txt"
    path.write_text("hi")
    with path.open() as text, pytest.raises(pydantic.ValidationError, match="binary mode"):
        Input(prompt="x", image_url=text)  # type: ignore[arg-type]


def test_inline_makes_data_uris_without_uploading(tmp_path: Path) -> None:
    photo = tmp_path / "photo.png"
    photo.write_bytes(PNG)
    uploads = Uploads()
    sent = body(Input(prompt="x", image_url=photo, image_urls=[b"abc"]), uploads, mode="inline")
    assert sent["image_url"] == "data:image/png;base64," + base64.b64encode(PNG).decode()
    assert sent["image_urls"] == ["data:application/octet-stream;base64,YWJj"]
    assert uploads.calls == []


def test_inline_above_the_limit_is_refused_naming_the_file(tmp_path: Path) -> None:
    big = tmp_path / "big.bin"
    big.write_bytes(b"x" * 101)
    with pytest.raises(ValueError, match=r"big\.bin.*101 bytes.*100-byte limit"):
        body(Input(prompt="x", image_url=big), Uploads(), mode="inline", inline_limit=100)


def test_a_file_removed_after_validation_uploads_nothing(tmp_path: Path) -> None:
    first, second = tmp_path / "a.png", tmp_path / "b.png"
    first.write_bytes(PNG)
    second.write_bytes(PNG)
    model = Input(prompt="x", image_urls=[first, second])
    second.unlink()
    uploads = Uploads()
    with pytest.raises(FileNotFoundError, match=r"b\.png"):
        body(model, uploads)
    assert uploads.calls == []


def test_bad_mode() -> None:
    with pytest.raises(ValueError, match="files must be"):
        body(Input(prompt="x", image_url=b"x"), Uploads(), mode="attach")


def test_dumping_a_model_with_local_files_outside_a_call_explains() -> None:
    model = Input(prompt="x", image_url=b"x")
    # pydantic turns a serializer's error inside a union into a warning.
    with pytest.warns(UserWarning, match="before it is uploaded"):
        model.model_dump_json()
    assert model.model_dump()["image_url"] == b"x"  # python mode keeps the value


def test_untyped_arguments_resolve_paths_and_bytes(tmp_path: Path) -> None:
    photo = tmp_path / "photo.png"
    photo.write_bytes(PNG)
    uploads = Uploads()
    sent = json.loads(
        encode_arguments_with_files(
            {"prompt": "x", "image_url": photo, "nested": {"list": [b"ab", "https://u"]}},
            mode="upload",
            upload=uploads,
        )
    )
    assert sent == {
        "prompt": "x",
        "image_url": "https://cdn.example/1",
        "nested": {"list": ["https://cdn.example/2", "https://u"]},
    }
    with pytest.raises(TypeError, match="not JSON serializable"):
        encode_arguments_with_files({"x": object()}, mode="upload", upload=uploads)
    with pytest.raises(ValueError, match="does not exist"):
        encode_arguments_with_files({"x": tmp_path / "gone"}, mode="upload", upload=uploads)


@pytest.mark.parametrize(
    ("head", "expected"),
    [
        (PNG, "image/png"),
        (b"\xff\xd8\xff\xe0", "image/jpeg"),
        (b"RIFF\x00\x00\x00\x00WEBPVP8 ", "image/webp"),
        (b"RIFF\x00\x00\x00\x00WAVEfmt ", "audio/wav"),
        (b"\x00\x00\x00\x18ftypmp42", "video/mp4"),
        (b"hello", None),
    ],
)
def test_sniff(head: bytes, expected: str | None) -> None:
    assert sniff_content_type(head) == expected
