"""Saved file names: derivation, sanitising and collision planning (pure functions, no I/O)."""

from __future__ import annotations

import unicodedata

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fal_typed._names import (
    MAX_NAME_BYTES,
    candidates,
    derive_name,
    extension_for,
    name_from_url,
    numbered,
    plan_names,
    sanitize_name,
    split_extension,
)

RESERVED = {"con", "prn", "aux", "nul", "conin$", "conout$"} | {
    f"{device}{digit}" for device in ("com", "lpt") for digit in "0123456789\u00b9\u00b2\u00b3"
}


def assert_safe(name: str) -> None:
    """What every saved name must be: one plain, portable, non-empty component."""
    assert name
    assert name not in (".", "..")
    assert ".." not in name
    assert "/" not in name and "\\" not in name
    assert not any(c in name for c in '<>:"|?*')
    assert not any(unicodedata.category(c) in ("Cc", "Cs") for c in name)
    assert not name.startswith((".", " ")) and not name.endswith((".", " "))
    assert name == name.strip()
    assert len(name.encode("utf-8")) <= MAX_NAME_BYTES
    assert name.split(".", 1)[0].rstrip(" ").lower() not in RESERVED
    assert unicodedata.normalize("NFC", name) == name


@pytest.mark.parametrize(
    ("hostile", "expected"),
    [
        ("../../etc/passwd", "_._etc_passwd"),
        ("/etc/passwd", "_etc_passwd"),
        ("..\\..\\windows\\win.ini", "_._windows_win.ini"),
        ("C:\\x", "C__x"),
        ("C:x", "C_x"),
        ("con", "_con"),
        ("CON.txt", "_CON.txt"),
        ("Con.tar.gz", "_Con.tar.gz"),
        ("con .txt", "_con.txt"),
        ("nul", "_nul"),
        ("LPT9.png", "_LPT9.png"),
        ("com\u00b9", "_com\u00b9"),
        ("CONOUT$", "_CONOUT$"),
        ("console.png", "console.png"),
        ("a\x00b", "a_b"),
        ("tab\there\nnew\rline\x1b[31m", "tab_here_new_line_[31m"),
        ("del\x7f\x85c1", "del__c1"),
        ("evil\u202egnp.exe", "evil_gnp.exe"),
        (".bashrc", "bashrc"),
        ("name. . .", "name"),
        ("trailing ", "trailing"),
        ("  padded.png  ", "padded.png"),
        ("a..b", "a.b"),
        ('what?<is>"this"|*.png', "what__is__this___.png"),
        ("caf\u0065\u0301.png", "caf\u00e9.png"),  # NFC
        ("\u732b\u306e\u5199\u771f.png", "\u732b\u306e\u5199\u771f.png"),
        ("\U0001f600.webp", "\U0001f600.webp"),
        ("lone\ud800surrogate", "lone_surrogate"),
    ],
)
def test_hostile_names_become_safe(hostile: str, expected: str) -> None:
    name = sanitize_name(hostile)
    assert name == expected
    assert_safe(name)


@pytest.mark.parametrize("empty", ["", ".", "..", "...", " ", " . . ", "\t", ". .\u3000", "\n.\r"])
def test_names_of_nothing_fall_back(empty: str) -> None:
    assert sanitize_name(empty) == "file"
    assert sanitize_name(empty, fallback="images_0.png") == "images_0.png"


def test_long_names_are_capped_keeping_the_extension() -> None:
    name = sanitize_name("x" * 1000 + ".png")
    assert name.endswith(".png")
    assert len(name.encode()) <= MAX_NAME_BYTES
    # Multi-byte characters are never cut in half.
    name = sanitize_name("\u732b" * 1000 + ".jpeg")
    assert name.endswith(".jpeg")
    assert len(name.encode()) <= MAX_NAME_BYTES
    assert set(name[: -len(".jpeg")]) == {"\u732b"}
    # A stem cut down to trailing dots/spaces loses them.
    name = sanitize_name("a" * 194 + " ....png")
    assert_safe(name)
    assert name == "a" * 194 + ".png"


def test_reserved_names_stay_safe_when_capped() -> None:
    name = sanitize_name("con" + " " * 300 + ".txt")
    assert_safe(name)


@given(st.text(max_size=400))
def test_any_text_becomes_a_safe_name(text: str) -> None:
    assert_safe(sanitize_name(text))
    assert_safe(derive_name(text, None, "image/png"))


@given(st.text(max_size=60), st.integers(min_value=1, max_value=99999))
def test_numbered_names_stay_safe(text: str, number: int) -> None:
    name = numbered(sanitize_name(text), number)
    assert_safe(name)
    assert len(name.encode()) <= 255


def test_split_extension() -> None:
    assert split_extension("photo.png") == ("photo", ".png")
    assert split_extension("archive.tar.gz") == ("archive.tar", ".gz")
    assert split_extension("noext") == ("noext", "")
    assert split_extension("v1.2_final") == ("v1.2_final", "")
    assert split_extension("a.verylongextension") == ("a.verylongextension", "")


def test_extension_for() -> None:
    assert extension_for("image/png") == ".png"
    assert extension_for("image/jpeg") == ".jpg"
    assert extension_for("IMAGE/WEBP; q=1") == ".webp"
    assert extension_for("video/mp4") == ".mp4"
    assert extension_for("audio/wav") == ".wav"
    assert extension_for("model/gltf-binary") == ".glb"
    assert extension_for("application/x-unknown-thing") == ""
    assert extension_for(None) == ""
    assert extension_for("") == ""


def test_name_from_url() -> None:
    assert name_from_url("https://v3.fal.media/files/abc/x.png") == "x.png"
    assert name_from_url("https://v3.fal.media/files/abc/my%20cat.png?sig=1#f") == "my cat.png"
    assert name_from_url("https://h/a/%2E%2E%2Fetc%2Fpasswd") == "../etc/passwd"  # sanitised later
    assert name_from_url("https://h/dir/") is None
    assert name_from_url("https://h") is None
    assert name_from_url("data:image/png;base64,AAAA") is None
    assert name_from_url("https://h/%ff%fe.png") == "\ufffd\ufffd.png"


def test_derive_name_order() -> None:
    url = "https://v3.fal.media/files/k/from_url.png"
    assert derive_name("given.png", url, "image/png") == "given.png"
    assert derive_name(None, url, "image/png") == "from_url.png"
    assert derive_name("", url, "image/png") == "from_url.png"
    assert derive_name(" .. ", url, "image/png") == "from_url.png"
    assert derive_name(None, "data:image/png;base64,AA==", "image/png") == "file.png"
    assert derive_name(None, "data:,x", None, stem="images_0") == "images_0"
    assert derive_name(None, "https://h/dir/", "video/mp4", stem="video") == "video.mp4"
    # The content type's extension is added to a name without one.
    assert derive_name("output", None, "video/mp4") == "output.mp4"
    assert derive_name(None, "https://h/files/abc123", "image/webp") == "abc123.webp"
    assert derive_name("photo.jpeg", None, "image/png") == "photo.jpeg"
    # Hostile names from either source are sanitised.
    assert derive_name("../../etc/passwd", None, None) == "_._etc_passwd"
    assert derive_name(None, "https://h/a/%2E%2E%2F%2E%2E%2Fcon", None) == "_._con"


def test_numbered() -> None:
    assert numbered("name.png", 0) == "name.png"
    assert numbered("name.png", 1) == "name (1).png"
    assert numbered("archive.tar.gz", 2) == "archive.tar (2).gz"
    assert numbered("noext", 3) == "noext (3)"


def test_plan_names_numbers_repeats_in_order_case_insensitively() -> None:
    planned = plan_names(["a.png", "b.png", "a.png", "A.PNG", "a (1).png"])
    names = [numbered(name, number) for name, number in planned]
    assert names == ["a.png", "b.png", "a (1).png", "A (2).PNG", "a (1) (1).png"]
    assert len({name.casefold() for name in names}) == len(names)


def test_candidates_skip_the_batch_names() -> None:
    avoid = frozenset({"a.png", "a (1).png", "a (3).png"})
    found = candidates("a.png", 0, avoid=avoid)
    assert [next(found) for _ in range(3)] == ["a.png", "a (2).png", "a (4).png"]
    found = candidates("a.png", 1, avoid=avoid)
    assert [next(found) for _ in range(2)] == ["a (1).png", "a (2).png"]
    assert len(list(candidates("x", limit=5))) == 6


def test_sanitize_name_rejects_tiny_caps() -> None:
    with pytest.raises(ValueError, match="max_bytes"):
        sanitize_name("x", max_bytes=3)
