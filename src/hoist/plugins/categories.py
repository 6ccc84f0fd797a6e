"""Plugin categories, as the seed names them."""

from __future__ import annotations

from enum import StrEnum

__all__ = ["PluginCategory"]


class PluginCategory(StrEnum):
    """What kind of work a plugin (or one of its actions) does."""

    NEURAL_NET = "neural_net"
    EXPORT = "export"
    UPLOAD = "upload"
    SMART_TOOL = "smart_tool"
    PRE_ANNOTATION = "pre_annotation"
    POST_ANNOTATION = "post_annotation"
    DATA_VALIDATION = "data_validation"
    CUSTOM = "custom"
