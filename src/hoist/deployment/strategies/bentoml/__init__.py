"""The ``bentoml`` strategy: a callable served by the real ``bentoml serve`` (or deployed to
BentoCloud) from a generated ``service.py`` and ``bentofile.yaml``."""

from hoist.deployment.strategies.bentoml.runner import BentoMLRunner

__all__ = ["BentoMLRunner"]
