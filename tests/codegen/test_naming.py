"""Name mapping rules (documented in the README, "Name mapping")."""

from __future__ import annotations

import pytest

from fal_typed_codegen._naming import class_name, module_names
from fal_typed_codegen._writer import GenerationError


def test_module_names_follow_the_documented_rules() -> None:
    names = module_names(
        [
            "fal-ai/flux/dev",
            "fal-ai/hyper3d/rodin/v2.5",
            "fal-ai/lambda",
            "fal-ai/list",
            "fal-ai/3d-thing",
            "9owner/x",
            "fal-ai/Upper",
        ]
    )
    assert names == {
        "fal-ai/flux/dev": ("fal_ai", "flux_dev"),
        "fal-ai/hyper3d/rodin/v2.5": ("fal_ai", "hyper3d_rodin_v2_5"),
        "fal-ai/lambda": ("fal_ai", "lambda_"),
        "fal-ai/list": ("fal_ai", "list_"),
        "fal-ai/3d-thing": ("fal_ai", "m_3d_thing"),
        "9owner/x": ("m_9owner", "x"),
        "fal-ai/Upper": ("fal_ai", "upper"),
    }


def test_two_ids_mapping_to_one_module_are_an_error_naming_both() -> None:
    for ids in (["fal-ai/flux/dev", "fal-ai/flux-dev"], ["fal-ai/flux-dev", "fal-ai/flux/dev"]):
        with pytest.raises(GenerationError) as info:
            module_names(ids)
        assert str(info.value).startswith(
            "endpoint ids 'fal-ai/flux-dev' and 'fal-ai/flux/dev' both map to the module "
            "fal_ai.flux_dev"
        )
    sources = {"fal-ai/flux.dev": "b.json", "fal-ai/flux-dev": "a.json"}
    with pytest.raises(
        GenerationError,
        match=r"'fal-ai/flux-dev' \(a.json\) and "
        r"'fal-ai/flux.dev' \(b.json\)",
    ):
        module_names(sources)


def test_module_names_starting_with_an_underscore_get_a_prefix() -> None:
    assert module_names(["x/__init__", "x/_base", "_y/z"]) == {
        "x/__init__": ("x", "m__init__"),
        "x/_base": ("x", "m_base"),
        "_y/z": ("m_y", "z"),
    }


def test_class_names() -> None:
    assert class_name("registry__image__fast_sdxl__models__Image") == "Image"
    assert class_name("RGBColor") == "RGBColor"
    assert class_name("image-size") == "ImageSize"
    assert class_name("Field") == "FieldModel"  # would shadow pydantic's Field
    assert class_name("3d") == "M3d"
