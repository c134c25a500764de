"""Configs in the Keras 2 form: `{"class_name": ..., "config": ...}`."""

from __future__ import annotations


def serialize_object(obj):
    """None stays None; objects with `get_config` become `{"class_name", "config"}`; names stay names."""
    if obj is None or isinstance(obj, (str, int, float, bool)):
        return obj
    if hasattr(obj, "get_config"):
        return {"class_name": type(obj).__name__, "config": obj.get_config()}
    name = getattr(obj, "__name__", None)
    if name is None:
        raise ValueError(f"Cannot serialize {obj!r}: it has no get_config() and no name.")
    return name
