"""``hoist new``: plugin scaffolds, one runnable starter per category.

Each category's starter actions live as plain Python files in ``files/<category>/``
(copied as they are); ``files/base/`` holds ``config.yaml`` and ``README.md`` templates
(``string.Template``). Besides the categories, ``--category`` takes the kinds of
:data:`KINDS` (``train``, ``inference``, ``dataset``): one starter built on that
category base of :mod:`hoist.plugins.actions`, in a plugin of the kind's category.
"""

from __future__ import annotations

import re
import shutil
from dataclasses import dataclass
from pathlib import Path
from string import Template

from hoist.errors import UserInputError
from hoist.plugins.categories import PluginCategory

__all__ = [
    "CATEGORIES_WITH_TEMPLATES",
    "KINDS",
    "STARTERS",
    "TEMPLATE_CHOICES",
    "ScaffoldError",
    "scaffold_plugin",
]

FILES = Path(__file__).parent / "files"
CODE_RULE = re.compile(r"^[a-z][a-z0-9_]*$")


class ScaffoldError(UserInputError):
    """The plugin cannot be created (bad code, folder in the way)."""


@dataclass(frozen=True)
class Starter:
    """One starter action: its module file, class, and what config.yaml says of it."""

    action: str
    module: str
    cls: str
    description: str
    input_type: str | None = None
    output_type: str | None = None
    folder: str | None = None
    """Where ``files/<folder>/<module>.py`` is (default: the category's folder)."""


STARTERS: dict[str, list[Starter]] = {
    "neural_net": [
        Starter("train", "train", "TrainAction", "Train a model and save its weights",
                "Dataset", "ModelWeights"),
        Starter("inference", "inference", "InferenceAction", "Score inputs with weights",
                "ModelWeights"),
    ],
    "export": [Starter("export", "export", "ExportAction", "Write records to CSV")],
    "upload": [Starter("upload", "upload", "UploadAction", "Upload files to a folder")],
    "smart_tool": [Starter("auto_label", "auto_label", "AutoLabelAction",
                           "Suggest a label for each text")],
    "pre_annotation": [Starter("pre_annotate", "pre_annotate", "PreAnnotateAction",
                               "Clean items before annotation")],
    "post_annotation": [Starter("post_annotate", "post_annotate", "PostAnnotateAction",
                                "Flag annotations that need review")],
    "data_validation": [Starter("validate", "validate", "ValidateAction",
                                "Report records that break rules")],
    "custom": [Starter("main", "main", "MainAction", "Process items one by one")],
}  # fmt: skip
"""The starter actions of each category."""

CATEGORIES_WITH_TEMPLATES = tuple(STARTERS)

_TRAIN, _INFERENCE = STARTERS["neural_net"]

KINDS: dict[str, tuple[str, list[Starter]]] = {
    "train": ("neural_net", [_TRAIN]),
    "inference": ("neural_net", [_INFERENCE]),
    "dataset": ("data_validation", [Starter(
        "dataset", "dataset", "PrepareDatasetAction", "Fetch, validate and convert a dataset",
        output_type="Dataset", folder="dataset",
    )]),
}  # fmt: skip
"""Starter kinds beyond the categories: kind -> (the plugin's category, its starters)."""

TEMPLATE_CHOICES = (*CATEGORIES_WITH_TEMPLATES, *KINDS)
"""What ``hoist new --category`` accepts."""


def scaffold_plugin(
    dest_dir: Path | str,
    code: str,
    *,
    name: str | None = None,
    category: PluginCategory | str = "custom",
    description: str = "",
    force: bool = False,
) -> Path:
    """Create plugin ``code`` in ``dest_dir/code`` and return its folder.

    ``category`` is a category or one of :data:`KINDS` (``train``, ``inference``,
    ``dataset``).

    Raises:
        ScaffoldError: ``code`` is not a valid plugin code, the category is unknown, or
            the folder exists and is not empty (unless ``force``).
    """
    if not CODE_RULE.match(code):
        raise ScaffoldError(
            f"plugin code {code!r} must start with a lowercase letter and contain only "
            "lowercase letters, digits and underscores"
        )
    category = str(category)
    if category in KINDS:
        category, starters = KINDS[category]
    elif category in STARTERS:
        starters = STARTERS[category]
    else:
        raise ScaffoldError(
            f"unknown category {category!r}; choose one of {', '.join(TEMPLATE_CHOICES)}"
        )
    root = Path(dest_dir) / code
    if root.exists() and any(root.iterdir()) and not force:
        raise ScaffoldError(f"{root} exists and is not empty; use --force to write into it")
    title = name or code.replace("_", " ").title()
    values = {
        "name": title,
        "code": code,
        "category": category,
        "description": description or f"A {category.replace('_', ' ')} plugin",
        "actions": "\n".join(_action_entry(s) for s in starters),
        "run_lines": "\n".join(f"    hoist run . {s.action}" for s in starters),
    }
    (root / "plugin").mkdir(parents=True, exist_ok=True)
    for template, target in (("config.yaml", "config.yaml"), ("README.md", "README.md")):
        text = Template((FILES / "base" / template).read_text()).substitute(values)
        (root / target).write_text(text)
    shutil.copyfile(FILES / "base" / "gitignore", root / ".gitignore")
    shutil.copyfile(FILES / "base" / "hoistignore", root / ".hoistignore")
    (root / "requirements.txt").write_text("# one requirement per line, e.g. numpy>=1.26\n")
    (root / "plugin" / "__init__.py").write_text(f'"""The {title} plugin."""\n')
    for starter in starters:
        folder = starter.folder or category
        shutil.copyfile(FILES / folder / f"{starter.module}.py",
                        root / "plugin" / f"{starter.module}.py")  # fmt: skip
    return root


def _action_entry(s: Starter) -> str:
    lines = [
        f"  {s.action}:",
        f"    entrypoint: plugin.{s.module}:{s.cls}",
        "    method: local",
        f"    description: {s.description}",
    ]
    if s.input_type:
        lines.append(f"    input_type: {s.input_type}")
    if s.output_type:
        lines.append(f"    output_type: {s.output_type}")
    return "\n".join(lines)
