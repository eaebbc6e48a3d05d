"""Behaviour of the golden modules: one test (or a few) per construct of fal's documents."""

from __future__ import annotations

import contextlib
import importlib
import inspect
import json
import typing
from types import ModuleType
from typing import Any

import httpx
import pydantic
import pytest

from fal_typed import FalClient, ResponseValidationError

from ._paths import golden_on_path
from ._signatures import overloads, params

golden_on_path()


def mod(name: str) -> ModuleType:
    return importlib.import_module(f"goldenpkg.fixtures.{name}")


class Recorder:
    """An httpx transport that records request bodies and answers with a fixed JSON body."""

    def __init__(self, response: dict[str, Any]) -> None:
        self.response = response
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return httpx.Response(200, json=self.response)

    def client(self) -> FalClient:
        return FalClient(key="k", http_client=httpx.Client(transport=httpx.MockTransport(self)))

    def bodies(self) -> list[Any]:
        return [json.loads(r.content) for r in self.requests]


def sent(module: ModuleType, **arguments: Any) -> Any:
    """Call the module's wrapper with ``arguments``; return the JSON body that was sent."""
    recorder = Recorder({"ok": True})
    function = getattr(module, module.__name__.rsplit(".", 1)[-1])
    with contextlib.suppress(ResponseValidationError):  # outputs other than {"ok": bool}
        function(client=recorder.client(), **arguments)
    [body] = recorder.bodies()
    return body


def dump(model: pydantic.BaseModel) -> Any:
    return model.model_dump(mode="json", by_alias=True, exclude_unset=True)


# anyOf [$ref ImageSize, string enum] with a string default and an object default.
def test_image_size_accepts_preset_strings_and_objects() -> None:
    m = mod("image_size")
    assert sent(m, prompt="x", image_size="square") == {"prompt": "x", "image_size": "square"}
    size = m.ImageSize(width=10, height=20)
    assert sent(m, prompt="x", image_size=size)["image_size"] == {"width": 10, "height": 20}
    assert dump(m.ImageSizeInput(prompt="x", image_size={"width": 3}))["image_size"] == {"width": 3}
    with pytest.raises(pydantic.ValidationError):
        m.ImageSizeInput(prompt="x", image_size="huge")
    with pytest.raises(pydantic.ValidationError):
        m.ImageSizeInput(prompt="x", image_size={"width": 0})  # exclusiveMinimum 0
    assert m.ImageSizeInput(prompt="x").image_size == "square_hd"
    # The object default is documented, not materialized; unset fields are never sent.
    assert m.ImageSizeInput(prompt="x").mask_size is None
    doc = " ".join((m.image_size.__call__.__doc__ or "").split())
    assert '`{"height": 768, "width": 1024}`' in doc
    assert sent(m, prompt="x") == {"prompt": "x"}


def test_nullable_fields_accept_none_and_keep_constraints() -> None:
    m = mod("nullable")
    assert sent(m, seed=None, language=None) == {"seed": None, "language": None}
    assert sent(m, seed=65535)["seed"] == 65535
    for bad in ({"seed": 65536}, {"seed": -1}, {"tags": ["a", "b", "c"]}, {"listed": 0.5}):
        with pytest.raises(pydantic.ValidationError):
            m.NullableInput(**bad)
    assert m.NullableInput(legacy=None, listed=None).legacy is None
    assert m.NullableOutput.model_validate({"text": "t", "score": None}).score is None
    annotations = dict(overloads(m.nullable).keywords)
    assert "None" in annotations["seed"].split(" | ")


def test_open_enum_accepts_known_and_other_strings() -> None:
    m = mod("open_enum")
    assert sent(m, aspect_ratio="21:9") == {"aspect_ratio": "21:9"}
    assert sent(m, aspect_ratio="7:3") == {"aspect_ratio": "7:3"}
    assert "Known values (other strings accepted)" in (m.open_enum.__call__.__doc__ or "")


def test_allof_with_one_ref_is_that_class_and_several_parts_merge() -> None:
    m = mod("allof_ref")
    assert typing.get_type_hints(m.AllofRefInput)["settings"] == m.Settings | None
    assert sent(m, settings={"speed": 2}) == {"settings": {"speed": 2}}
    combined = typing.get_type_hints(m.AllofRefInput)["combined"]
    merged = next(a for a in typing.get_args(combined) if a is not type(None))
    assert set(merged.model_fields) == {"speed", "extra_flag"}


def test_ref_with_siblings_keeps_description_default_and_enum_refs_inline() -> None:
    m = mod("ref_siblings")
    doc = " ".join((m.ref_siblings.__call__.__doc__ or "").split())
    assert "voice: Sibling description wins." in doc
    assert '"voice_id": "Wise_Woman"' in doc
    assert m.RefSiblingsInput().mode == "fast"
    with pytest.raises(pydantic.ValidationError):
        m.RefSiblingsInput(mode="medium")
    assert sent(m, voice=m.Voice(voice_id="v")) == {"voice": {"voice_id": "v"}}


def test_const_is_a_one_value_literal() -> None:
    m = mod("const")
    assert sent(m, version="3") == {"version": "3"}
    with pytest.raises(pydantic.ValidationError):
        m.ConstInput(version="2")
    with pytest.raises(pydantic.ValidationError):
        m.ConstInput(version="3", chunk_level="word")


def test_prefix_items_become_tuples() -> None:
    m = mod("prefix_items")
    out = m.PrefixItemsOutput.model_validate({"chunks": [{"timestamp": [0.5, None], "text": "a"}]})
    assert out.chunks[0].timestamp == (0.5, None)
    with pytest.raises(pydantic.ValidationError):
        m.PrefixItemsOutput.model_validate({"chunks": [{"timestamp": [1, 2, 3], "text": "a"}]})


def test_integer_and_number_enums() -> None:
    m = mod("numeric_enums")
    assert sent(m, sample_rate=16000, channels=2) == {"sample_rate": 16000, "channels": 2}
    for bad in ({"sample_rate": 12345}, {"channels": 3}):
        with pytest.raises(pydantic.ValidationError):
            m.NumericEnumsInput(**bad)
    assert typing.get_args(typing.get_type_hints(m.NumericEnumsInput)["sample_rate"]) == (
        8000,
        16000,
        44100,
    )
    # Non-integral number enums cannot be Literal types: plain float, values documented.
    assert m.NumericEnumsInput(ratio=0.5).ratio == 0.5
    assert "Allowed values: `0.5`, `1.5`." in (m.numeric_enums.__call__.__doc__ or "")


@pytest.mark.parametrize(
    "value", ["16:9", "4K Quad", "2d_art_poster", "pt-BR", "None", "realistic_image/b_and_w"]
)
def test_odd_enum_values_are_plain_strings(value: str) -> None:
    m = mod("odd_enum_values")
    assert sent(m, value=value) == {"value": value}


def test_odd_enum_default_none_string_is_not_python_none() -> None:
    m = mod("odd_enum_values")
    with pytest.raises(pydantic.ValidationError):
        m.OddEnumValuesInput(value=None)


def test_property_names_get_aliases_and_never_shadow_basemodel() -> None:
    m = mod("property_names")
    fields = m.PropertyNamesInput.model_fields
    aliases = {name: f.alias for name, f in fields.items() if f.alias}
    assert aliases == {
        "json_": "json",
        "schema_": "schema",
        "model_config_": "model_config",
        "copy_": "copy",
        "model_dump_": "model_dump",
        "field_16_9": "16:9",
        "class_": "class",
        "field_private": "_private",
    }
    assert {"TAPose", "type", "format", "timeout", "input", "arguments"} <= set(fields)
    model = m.PropertyNamesInput(json="j", model_config="c", schema="s")
    assert dump(model) == {"json": "j", "model_config": "c", "schema": "s"}
    assert m.PropertyNamesInput(json_="j", TAPose=True).TAPose is True  # by python name too
    assert callable(model.model_dump) and isinstance(m.PropertyNamesInput.model_config, dict)
    out = m.PropertyNamesOutput.model_validate({"json": "a", "model_mesh": "b", "schema": "c"})
    assert (out.json_, out.model_mesh, out.schema_) == ("a", "b", "c")


def test_parameters_colliding_with_request_options_get_a_trailing_underscore() -> None:
    m = mod("property_names")
    names = overloads(m.property_names).names
    assert {"timeout_", "input_", "arguments_", "timeout", "client"} <= set(names)
    body = sent(m, json_="j", timeout_=1.5, input_="i", arguments_="a", timeout=5.0)
    assert body == {"json": "j", "timeout": 1.5, "input": "i", "arguments": "a"}
    assert names[0] == "json_"  # required fields first
    assert names[-5:] == ["client", "start_timeout", "object_lifecycle", "timeout", "extra_headers"]


def test_component_names_and_shared_components() -> None:
    m = mod("component_names")
    assert {"Image", "Image2", "ImageOutput", "File", "FileOutput"} <= set(m.__all__)
    # One component used on both sides: the input copy forbids unknown keys, the output copy
    # keeps them.
    with pytest.raises(pydantic.ValidationError):
        m.File(url="u", extra=1)
    out = m.ComponentNamesOutput.model_validate(
        {"images": [{"url": "a", "more": 1}], "others": [], "file": {"url": "f", "size": 2}}
    )
    assert out.file.model_dump()["size"] == 2
    assert out.images[0].model_dump()["more"] == 1


def test_defaults_that_break_their_constraints_import_and_are_never_sent() -> None:
    m = mod("bad_default")
    model = m.BadDefaultInput()
    assert model.width == 0  # the document's default, although minimum is 1
    assert m.Box().side == 0
    assert model.strength is None  # a default of the wrong type is not materialized
    assert sent(m) == {}
    with pytest.raises(pydantic.ValidationError):
        m.BadDefaultInput(width=0)


def test_big_integers_validate() -> None:
    m = mod("big_int")
    big = 15860307465884635512
    assert m.BigIntInput().seed == big
    assert sent(m, seed=big) == {"seed": big}
    assert m.BigIntOutput.model_validate_json(b'{"seed": 15860307465884635512}').seed == big


def test_non_ascii_descriptions_are_kept() -> None:
    m = mod("non_ascii")
    source = inspect.getsource(m)
    assert "Texte à lire — 燕少飞 (yan4): «ok»." in source
    assert "Schéma d'entrée." in (m.NonAsciiInput.__doc__ or "")
    assert 'C:\\temp\\new and """quotes"""' in (m.non_ascii.__call__.__doc__ or "")


def test_input_without_required_fields() -> None:
    m = mod("no_required")
    assert sent(m) == {}
    assert sent(m, a="x") == {"a": "x"}


def test_vendor_keys_are_ignored_and_string_formats_stay_str() -> None:
    m = mod("vendor_keys")
    source = inspect.getsource(m)
    assert "_fal_ui_field" not in source and "x-fal" not in source
    assert typing.get_type_hints(m.VendorKeysInput)["file"] == str | None
    assert sent(m, image_url="u", file="data") == {"image_url": "u", "file": "data"}


def test_inline_objects_become_classes_and_maps_stay_dicts() -> None:
    m = mod("inline_object")
    assert sent(m, options=m.Options(name="n"), mapping={"a": 1.5}, anything=[1]) == {
        "options": {"name": "n"},
        "mapping": {"a": 1.5},
        "anything": [1],
    }
    with pytest.raises(pydantic.ValidationError):
        m.Options()


def test_alias_entries_use_the_entry_id_and_name_the_metadata_id() -> None:
    m = mod("entry_alias")
    assert m.ENDPOINT.id == "fixtures/entry-alias"
    assert "``fixtures/entry-canonical``" in (m.__doc__ or "")
    recorder = Recorder({"ok": True})
    m.entry_alias(prompt="p", client=recorder.client())
    assert recorder.requests[0].url.path == "/fixtures/entry-alias"


def test_sorted_key_documents_follow_x_fal_order_properties() -> None:
    m = mod("sorted_keys")
    assert list(m.SortedKeysInput.model_fields) == ["zeta", "alpha", "mid"]
    assert params(m.sorted_keys) == ["zeta", "alpha", "mid"]


def test_input_models_forbid_unknown_keys_and_outputs_keep_them() -> None:
    m = mod("no_required")
    with pytest.raises(pydantic.ValidationError):
        m.NoRequiredInput.model_validate({"a": "x", "typo": 1})
    out = m.NoRequiredOutput.model_validate({"ok": True, "new_field": {"x": 1}})
    assert out.model_dump()["new_field"] == {"x": 1}


def test_wrapper_rejects_a_model_and_keywords_together() -> None:
    m = mod("no_required")
    with pytest.raises(TypeError):
        m.no_required(m.NoRequiredInput(), a="x", client=Recorder({}).client())


def test_wrapper_passes_a_ready_model_through() -> None:
    m = mod("no_required")
    recorder = Recorder({"ok": True})
    out = m.no_required(m.NoRequiredInput(b=2), client=recorder.client())
    assert recorder.bodies() == [{"b": 2}]
    assert out.ok is True


# Optional fields whose schema does not accept null: ``None`` means "not set" in the model (and
# is never sent); an explicit None/null is refused before anything is sent.
# ``Annotated`` and ``marker`` (of a class named ``NotNull``) shadow the names the mark uses.
@pytest.mark.parametrize(
    "field", ["voice_setting", "size", "negative_prompt", "extra", "scale", "Annotated", "marker"]
)
def test_explicit_none_is_refused_for_optional_fields_that_do_not_accept_null(
    field: str,
) -> None:
    m = mod("optional_not_null")
    recorder = Recorder({"ok": True})
    arguments = {"prompt": "x", "maybe_required": None, field: None}
    with pytest.raises(pydantic.ValidationError) as keywords:
        m.optional_not_null(client=recorder.client(), **arguments)
    with pytest.raises(pydantic.ValidationError) as mapping:
        m.optional_not_null(arguments, client=recorder.client())
    for info in (keywords, mapping):
        [error] = info.value.errors()
        assert error["loc"] == (field,)
        assert "null is not allowed" in error["msg"]
    assert recorder.requests == []
    # Left out, the field is not sent; its model value is None.
    assert m.OptionalNotNullInput(prompt="x", maybe_required=None).model_dump()[field] is None
    assert sent(m, prompt="x", maybe_required=None) == {"prompt": "x", "maybe_required": None}


def test_nested_optional_fields_refuse_none_too() -> None:
    m = mod("optional_not_null")
    with pytest.raises(pydantic.ValidationError) as info:
        m.OptionalNotNullInput(prompt="x", maybe_required="y", voice_setting={"speed": None})
    [error] = info.value.errors()
    assert error["loc"] == ("voice_setting", "speed")
    body = sent(m, prompt="x", maybe_required="y", voice_setting={"speed": 1.5})
    assert body["voice_setting"] == {"speed": 1.5}


@pytest.mark.parametrize("field", ["maybe", "maybe_30", "maybe_ref"])
def test_optional_fields_that_accept_null_send_it(field: str) -> None:
    m = mod("optional_not_null")
    body = sent(m, prompt="x", maybe_required=None, **{field: None})
    assert body == {"prompt": "x", "maybe_required": None, field: None}


def test_whole_number_float_defaults_of_integer_fields_are_kept_as_ints() -> None:
    m = mod("optional_not_null")
    model = m.OptionalNotNullInput(prompt="x", maybe_required=None)
    assert model.steps == 30 and type(model.steps) is int  # default: 30.0 in the document
    assert model.level == 2 and type(model.level) is int  # an integer enum, default: 2.0
    with pytest.raises(pydantic.ValidationError):
        m.OptionalNotNullInput(prompt="x", maybe_required=None, steps=None)
