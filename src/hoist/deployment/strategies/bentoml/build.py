"""The BentoML project the ``bentoml`` strategy serves: a COPY of the code with a generated
``service.py`` (a BentoML 1.4 ``@bentoml.service`` calling ``module:callable``) and
``bentofile.yaml``, rendered from this strategy's ``templates/`` (the adapter renders the
same templates into adapted code)."""

from __future__ import annotations

import json
import shutil
import string
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hoist.errors import DeploymentError

__all__ = ["SERVICE_CLASS", "BentoProject", "write_project"]

STRATEGY = "bentoml"
SERVICE_CLASS = "HoistService"
OPTIONS_FILE = "hoist_bento.json"
_TEMPLATES = Path(__file__).parent / "templates"
_IGNORED = shutil.ignore_patterns("__pycache__", "*.pyc", ".git", ".venv", "*.log", ".bentoml")


@dataclass(frozen=True)
class BentoProject:
    """A generated BentoML project folder.

    Attributes:
        folder: the copy of the code with the generated files.
        service_module: the generated service's module (``service``, or ``hoist_service``
            when the code has its own ``service.py``).
    """

    folder: Path
    service_module: str

    @property
    def service(self) -> str:
        """What ``bentoml serve`` serves: ``module:HoistService``."""
        return f"{self.service_module}:{SERVICE_CLASS}"


def write_project(
    code_path: Path,
    folder: Path,
    *,
    name: str,
    module: str,
    callable: str,
    options: dict[str, Any],
) -> BentoProject:
    """Copy ``code_path`` to ``folder`` (replacing what was there) and write the service,
    the bentofile and the service's options (``hoist_bento.json``) into the copy.

    Raises:
        DeploymentError: the code folder or the module's file is missing, or the copy
            cannot be written.
    """
    if not code_path.is_dir():
        raise DeploymentError(f"code_path {str(code_path)!r} is not a folder", strategy=STRATEGY)
    module_file = code_path / (module.replace(".", "/") + ".py")
    package = code_path / module.replace(".", "/") / "__init__.py"
    if not module_file.is_file() and not package.is_file():
        raise DeploymentError(
            f"module {module!r} is not in {str(code_path)!r} (no {module_file.name}): "
            f"cannot serve {module}:{callable} with BentoML",
            strategy=STRATEGY,
        )
    try:
        if folder.exists():
            shutil.rmtree(folder)
        shutil.copytree(code_path, folder, ignore=_IGNORED)
        service_module = "hoist_service" if (folder / "service.py").exists() else "service"
        values = {"name": name, "module": module, "callable": callable}
        quoted = {key: json.dumps(value) for key, value in values.items()}
        service = string.Template((_TEMPLATES / "service.py.tmpl").read_text()).substitute(quoted)
        (folder / f"{service_module}.py").write_text(service)
        bentofile = string.Template((_TEMPLATES / "bentofile.yaml.tmpl").read_text())
        text = bentofile.substitute(quoted).replace(
            f'"service:{SERVICE_CLASS}"', json.dumps(f"{service_module}:{SERVICE_CLASS}")
        )
        if (folder / "requirements.txt").is_file():
            text += "  requirements_txt: ./requirements.txt\n"
        (folder / "bentofile.yaml").write_text(text)
        (folder / OPTIONS_FILE).write_text(json.dumps(options, indent=2))
    except OSError as exc:
        raise DeploymentError(
            f"cannot write the BentoML project {str(folder)!r}: {exc}", strategy=STRATEGY
        ) from exc
    return BentoProject(folder, service_module)
