"""Run configurations of ``smoothgrid solve``: layers merged into one, and a run's own.

A configuration has the settings of :func:`smoothgrid.solve` at the top level (``steps``,
``batch``, ``lr``, ...; see ``smoothgrid options``) and three sections::

    problem:  {a1: 10, a2: 10}              # options of sg.problems.make(PROBLEM, ...)
    encoding: {name: hermite, levels: 8, min_res: 4, max_res: 256, log2_table: 16}
    field:    {hidden: [64, 64], activation: tanh}

The layers, later ones winning: the defaults < the problem's suggested settings (for the chosen
encoding: see :func:`_suggested`) < ``--config FILE`` < ``--set key=value`` < the flags. A run
directory's ``config.yaml`` has this form, so ``--config runs/x/config.yaml`` repeats a run and
``--resume`` continues it from its own ``config.yaml`` (:func:`resume_config`).
"""

from __future__ import annotations

import inspect
import json
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml

from .. import baselines, problems
from .. import encodings as encodings_module
from ..field import Field
from ..problems.suggested import DECODER_KEYS
from ..train.settings import SOLVE_KEYS, check_known, nearest

__all__ = [
    "ConfigError",
    "SECTIONS",
    "DEFAULT_STEPS",
    "build_config",
    "resume_config",
    "unknown",
    "field_keys",
]

SECTIONS = ("problem", "encoding", "field")

DEFAULT_STEPS = 2000
"""Steps when neither the problem, the config nor the command line sets a budget."""


class ConfigError(ValueError):
    """Bad input on the command line or in a configuration (exit code 2)."""


def unknown(what: str, word: str, known: Sequence[str]) -> ConfigError:
    """The error for an unknown name, with the nearest known one."""
    return ConfigError(
        f"unknown {what} {word!r}.{nearest(word, known)} Known: {', '.join(sorted(known))}"
    )


def _parameters(obj: Any) -> set[str]:
    skip = {"self", "args", "kwargs", "encoding", "constraint"}
    return {
        p.name
        for p in inspect.signature(obj).parameters.values()
        if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD) and p.name not in skip
    }


def _encoding_keys() -> set[str]:
    """Options any encoding takes: ``make``'s and each encoding class's own."""
    keys = {"name"} | _parameters(encodings_module.make)
    for obj in vars(encodings_module).values():
        if isinstance(obj, type) and issubclass(obj, encodings_module.Encoding):
            keys |= _parameters(obj.__init__)
    return keys


def field_keys() -> set[str]:
    """Options of the ``field`` section (those of :class:`~smoothgrid.Field`)."""
    return _parameters(Field.__init__)


def _coerce(value: Any) -> Any:
    """YAML leaves ``1e-3`` a string (no dot); read number-like strings as numbers, and
    ``None`` (the spelling the options' table and messages use) as YAML's ``null``."""
    if value == "None":
        return None
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return value
    if isinstance(value, Mapping):
        return {k: _coerce(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_coerce(v) for v in value]
    return value


def _merge(base: dict[str, Any], layer: Mapping[str, Any]) -> None:
    """Merge ``layer`` into ``base`` (sections key by key); a budget replaces the other one."""
    if "steps" in layer and "time_budget" not in layer:
        base.pop("time_budget", None)
    if "time_budget" in layer and "steps" not in layer:
        base.pop("steps", None)
    for key, value in layer.items():
        if key in SECTIONS and isinstance(value, Mapping):
            base.setdefault(key, {}).update(value)
        else:
            base[key] = value


def _validate(config: Mapping[str, Any], source: str) -> None:
    try:
        check_known(f"setting in {source}", config, (*SOLVE_KEYS, *SECTIONS))
    except ValueError as error:
        raise ConfigError(str(error)) from None
    for key in SECTIONS:
        if key in config and not isinstance(config[key], Mapping):
            raise ConfigError(
                f"{source}: {key!r} must be a mapping of options, got {config[key]!r}"
            )
    for key in config.get("encoding", {}):
        if key not in _encoding_keys():
            raise unknown(f"encoding option in {source}", key, sorted(_encoding_keys()))
    for key in config.get("field", {}):
        if key not in field_keys():
            raise unknown(f"field option in {source}", key, sorted(field_keys()))


_GRID_DEPENDENT = ("encoding", "lr", "decoder_lr", "level_scale")
"""Suggested settings that hold only for the encoding they were measured with."""


def _method_grid(encoding: str, dim: int) -> dict[str, Any] | None:
    """The grid and rates of ``encoding``'s own method (``smoothgrid list``), or ``None``."""
    if encoding not in baselines.names(smoothgrid=True):
        return None
    config = baselines.make(encoding, dim).encoding.config()
    grid = {k: config[k] for k in ("levels", "features", "min_res", "max_res", "log2_table")}
    return {"encoding": grid, **baselines.settings(encoding)}


def _suggested(problem, encoding: str | None = None) -> tuple[dict[str, Any], str | None]:
    """The problem's ``suggested`` settings in configuration form, for ``encoding``, and a note
    when none were measured for it.

    The settings were measured with one encoding (``encoding_name``) and, for some problems,
    with others (``by_encoding``). For an encoding without its own, the grid-dependent ones
    (the grid, the rates, the level scale) come from that encoding's method
    (``sg.baselines``) and the rest (points, decay, weights, decoder) from the problem.
    """
    suggested = dict(problem.suggested)
    by_encoding = suggested.pop("by_encoding", {})
    measured = suggested.get("encoding_name", "hermite")
    note = None
    if encoding is not None and encoding != measured:
        own = by_encoding.get(encoding)
        if own is None:
            own = _method_grid(encoding, problem.domain.dim)
            note = (
                f"no settings were measured for the {encoding!r} encoding on {problem.name!r} "
                f"(they were for {measured!r}); "
                + ("starting from the problem's points and schedule with the encoding's own grid "
                   "and rates" if own else f"keeping the {measured!r} grid and rates")
                + "; tune them with --set encoding.levels=..., encoding.max_res=..., lr=..."
            )  # fmt: skip
        if own is not None:
            suggested = {k: v for k, v in suggested.items() if k not in _GRID_DEPENDENT}
            suggested.update(own)
        suggested["encoding_name"] = encoding
    out: dict[str, Any] = {"encoding": {}, "field": {}}
    for key, value in suggested.items():
        if key == "encoding_name":
            out["encoding"]["name"] = value
        elif key == "encoding":
            out["encoding"].update(value)
        elif key in DECODER_KEYS:
            out["field"][key] = list(value) if key == "hidden" else value
        elif key in SOLVE_KEYS:
            out[key] = value
        else:
            raise ConfigError(f"problem {problem.name!r} suggests an unknown setting {key!r}")
    return out, note


def _parse_sets(items: Sequence[str]) -> dict[str, Any]:
    """``["a=1", "encoding.levels=8"]`` -> ``{"a": 1, "encoding": {"levels": 8}}``."""
    out: dict[str, Any] = {}
    for item in items:
        key, sep, text = item.partition("=")
        if not sep or not key:
            raise ConfigError(f"--set expects key=value, got {item!r}")
        value = _coerce(yaml.safe_load(text)) if text else None
        if "." in key:
            section, option = key.split(".", 1)
            if section not in SECTIONS:
                raise unknown("section in --set", section, SECTIONS)
            out.setdefault(section, {})[option] = value
        else:
            out[key] = value
    return out


def _read_yaml(path: Path, what: str) -> dict[str, Any]:
    if not path.is_file():
        raise ConfigError(f"{what} {path} not found")
    try:
        loaded = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as error:
        raise ConfigError(
            f"{what} {path} is not valid YAML: {str(error).splitlines()[0]}"
        ) from None
    if not isinstance(loaded, Mapping):
        raise ConfigError(f"{what} {path} must hold a mapping of settings")
    return _coerce(dict(loaded))


def _make_problem(name: str, options: Mapping[str, Any]):
    try:
        return problems.make(name, **options)
    except (TypeError, ValueError) as error:
        raise ConfigError(str(error)) from None


def build_config(
    problem_name: str,
    config_file: str | None = None,
    sets: Sequence[str] = (),
    flags: Mapping[str, Any] | None = None,
) -> tuple[Any, dict[str, Any]]:
    """The problem and the merged configuration (see the module docstring for the layers).

    Returns:
        ``(problem, config)``.

    Raises:
        ConfigError: an unknown problem, setting or option, or a malformed file.
    """
    if problem_name not in problems.describe():
        raise unknown("problem", problem_name, list(problems.describe()))
    layers: list[tuple[str, dict[str, Any]]] = []
    if config_file is not None:
        layers.append((config_file, _read_yaml(Path(config_file), "config file")))
    layers.append(("--set", _parse_sets(sets)))
    layers.append(("the command line", dict(flags or {})))
    for source, layer in layers:
        _validate(layer, source)
    options: dict[str, Any] = {}
    for _, layer in layers:
        options.update(layer.get("problem", {}))
    options.pop("name", None)
    problem = _make_problem(problem_name, options)
    chosen = None
    for _, layer in layers:
        chosen = layer.get("encoding", {}).get("name", chosen)
    suggested, note = _suggested(problem, chosen)
    if note is not None:
        print(f"smoothgrid: note: {note}", file=sys.stderr)
    config: dict[str, Any] = {"encoding": {"name": "hermite"}, "field": {}}
    _merge(config, suggested)
    for _, layer in layers:
        _merge(config, layer)
    config["problem"] = {"name": problem_name, **options}
    if config.get("steps") is not None and config.get("time_budget") is not None:
        raise ConfigError("give steps or time_budget, not both")
    if config.get("steps") is None and config.get("time_budget") is None:
        config["steps"] = DEFAULT_STEPS
    return problem, config


def _checkpoint_position(out: Path) -> tuple[int, float]:
    """``(steps, seconds)`` done at the run's checkpoint (``(0, 0)`` without one)."""
    path = out / "checkpoint.json"
    if not path.is_file():
        return 0, 0.0
    try:
        meta = json.loads(path.read_text())
        return int(meta["step"]), float(meta["train_time"])
    except (ValueError, KeyError, TypeError) as error:
        raise ConfigError(
            f"cannot read the checkpoint metadata {path} ({error}); it is damaged: delete it "
            "and checkpoint.pt to start the run afresh"
        ) from None


def resume_config(out: str, budget: Mapping[str, Any]) -> tuple[Any, dict[str, Any]]:
    """The problem and configuration of the run in ``out`` (its ``config.yaml``), its budget
    extended by ``budget``.

    Args:
        out: the run directory.
        budget: at most one of ``steps`` / ``time_budget`` (new totals, not smaller than the
            run's) and ``more_steps`` / ``more_time`` (added to what the checkpoint has done).

    Raises:
        ConfigError: no ``config.yaml``, a budget that shrinks the run, or two budgets.
    """
    run = Path(out)
    config = _read_yaml(run / "config.yaml", "the run's configuration")
    given = {k: v for k, v in budget.items() if v is not None}
    if len(given) > 1:
        raise ConfigError(f"give at most one budget on resume, got {', '.join(sorted(given))}")
    done_steps, done_seconds = _checkpoint_position(run)
    if "more_steps" in given:
        given = {"steps": done_steps + int(given["more_steps"])}
    elif "more_time" in given:
        given = {"time_budget": done_seconds + float(given["more_time"])}
    for key in ("steps", "time_budget"):
        old = config.get(key)
        if key in given and old is not None and given[key] < old:
            unit = "steps" if key == "steps" else "seconds"
            raise ConfigError(
                f"the run in {out} has a budget of {old:g} {unit}; a resumed run can only "
                f"extend it (got {given[key]:g}); use --more-steps / --more-time to add to it"
            )
    if given:
        config.pop("steps", None)
        config.pop("time_budget", None)
        config.update(given)
    section = dict(config.get("problem") or {})
    name = section.pop("name", None)
    if name not in problems.describe():
        raise ConfigError(f"{run / 'config.yaml'} names no known problem (problem.name: {name!r})")
    return _make_problem(name, section), config
