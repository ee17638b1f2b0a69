"""Pydantic validation errors as operator messages: `key.path: message`, with "did you mean"."""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from typing import Any

from pydantic import (
    BaseModel,
    ValidationError,
)

from loa.config.schema import Config
from loa.units import (
    shown,
)


def format_loc(loc: Sequence[int | str]) -> str:
    out = ""
    for part in loc:
        part = part if isinstance(part, int) or len(part) <= 64 else part[:64] + "…"
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _model_at(loc: Sequence[int | str]) -> type[BaseModel] | None:
    """The model class whose field the last element of `loc` would be."""
    model: Any = Config
    for part in loc[:-1]:
        if isinstance(part, int):
            continue
        field = model.model_fields.get(part) if isinstance(model, type) else None
        if field is None:
            return None
        model = inner_model(field.annotation)
    return model if isinstance(model, type) and issubclass(model, BaseModel) else None


def inner_model(annotation: Any) -> Any:
    for arg in getattr(annotation, "__args__", ()) or ():
        found = inner_model(arg)
        if found is not None:
            return found
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    return None


def _message(error: Any) -> str:
    loc = error["loc"]
    kind = error["type"]
    if kind == "extra_forbidden":
        model = _model_at(loc)
        known = list(model.model_fields) if model else []
        close = difflib.get_close_matches(str(loc[-1]), known, n=1, cutoff=0.6)
        hint = f'did you mean "{close[0]}"?' if close else f"known keys: {', '.join(known)}"
        return f"unknown key; {hint}"
    if kind == "missing":
        return "required key is missing"
    got = shown(error.get("input"))
    ctx = {k: f"{v:g}" if isinstance(v, float) else v for k, v in (error.get("ctx") or {}).items()}
    plain = {
        "greater_than": f"{got} must be greater than {ctx.get('gt')}",
        "greater_than_equal": f"{got} must be at least {ctx.get('ge')}",
        "less_than_equal": f"{got} must be at most {ctx.get('le')}",
        "float_parsing": f"{got} is not a number",
        "float_type": f"{got} is not a number",
        "bool_parsing": f"{got} is not true or false",
        "bool_type": f"{got} is not true or false",
        "string_type": f"{got} must be text in quotes",
        "string_too_short": "must not be empty",
        "string_too_long": f"{got} is too long: at most {ctx.get('max_length')} characters",
        "too_short": "must not be empty",
        "too_long": f"too many: at most {ctx.get('max_length')}",
        "finite_number": f"{got} is not a finite number",
        "list_type": f'{got} must be a list in brackets, e.g. ["*"]',
        "model_type": f"{got} must be a table of keys, e.g. [station]",
        "literal_error": f"{got} must be one of {ctx.get('expected')}",
    }
    if kind in plain:
        return plain[kind]
    msg = str(error["msg"])
    return msg.removeprefix("Value error, ")


def problem_lines(exc: ValidationError, prefix: Sequence[int | str] = ()) -> list[str]:
    return [f"{format_loc([*prefix, *e['loc']])}: {_message(e)}" for e in exc.errors()]
