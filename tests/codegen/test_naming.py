"""Name mapping rules (documented in codegen/README-section.md)."""

from __future__ import annotations

from fal_typed_codegen._naming import class_name, module_names


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


def test_collisions_are_numbered_in_id_order_whatever_the_input_order() -> None:
    ids = ["fal-ai/flux/dev", "fal-ai/flux-dev", "fal-ai/flux.dev"]
    expected = {
        "fal-ai/flux-dev": ("fal_ai", "flux_dev"),
        "fal-ai/flux.dev": ("fal_ai", "flux_dev_2"),
        "fal-ai/flux/dev": ("fal_ai", "flux_dev_3"),
    }
    assert module_names(ids) == expected
    assert module_names(list(reversed(ids))) == expected


def test_class_names() -> None:
    assert class_name("registry__image__fast_sdxl__models__Image") == "Image"
    assert class_name("RGBColor") == "RGBColor"
    assert class_name("image-size") == "ImageSize"
    assert class_name("Field") == "FieldModel"  # would shadow pydantic's Field
    assert class_name("3d") == "M3d"
