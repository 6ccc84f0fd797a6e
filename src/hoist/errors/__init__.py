"""Hoist's exceptions: one root, context carried as attributes.

The tree::

    HoistError                      exit code 1
    ├── UserInputError              exit code 2: the caller asked for something wrong
    │   ├── ParamsValidationError   .field_errors {field path: [messages]}
    │   ├── ConfigError             .path, .line, .key (a broken config.yaml)
    │   │   └── StrategyDefinitionError .strategy (a broken deployment strategy folder)
    │   ├── NotFoundError           .kind, .name, .available, .suggestions
    │   │   ├── PluginNotFoundError
    │   │   ├── ActionNotFoundError
    │   │   ├── RunNotFoundError
    │   │   ├── LockNotFoundError   no ``@app.lock(name)`` form for a ``tracer.lock(name)``
    │   │   ├── StrategyNotFoundError no deployment strategy by that name (or not allowed)
    │   │   ├── DeploymentNotFoundError no deployment by that name (or no such version)
    │   │   └── StorageLocationNotFoundError no storage location by that name
    │   ├── UnknownModeError
    │   │   └── ServeModeError      the action is declared ``method: serve`` (a deployment)
    │   ├── IncompatibleTypesError  output_type → input_type mismatch
    │   ├── PipelineDefinitionError .nodes (a cycle, a dangling dependency, ...)
    │   ├── ResumeError             .run_id (nothing to resume, corrupt checkpoint, ...)
    │   ├── RunWriteError           .run_id, .field, .not_writer (an ingested batch refused)
    │   ├── EntryPointError         .entry_point (a service's entry point cannot be loaded)
    │   ├── RunPathError            .path, .reason (a run file path that leaves the run's folder)
    │   └── UploadTooLargeError     .name, .limit (an upload over a service's limit: HTTP 413)
    ├── ActionFailedError           .run_id, .error_type, .error_message, .traceback
    │   ├── ResultValidationError   .field_errors (result does not match result_model)
    │   └── RunLostError            the worker running it died; the run is ``lost``
    ├── RunCancelledError           .run_id (raised inside a cancelled run)
    ├── LockExpiredError            .run_id, .name, .timeout (nobody answered a lock in time)
    ├── ServiceBusyError            .retry_after (a service's queue is full: HTTP 429)
    ├── IdentityError               .reason (a signed identity missing, forged or expired: 401)
    ├── DeploymentError             .strategy (a runner could not be built or started)
    │   ├── DeploymentNotReadyError .timeout (not healthy in time; also a TimeoutError)
│   ├── EngineUnavailableError  .missing, .how (an engine, package or credential is missing)
    │   └── AdaptationError         .check, .path (adapted code failed a validation check)
    ├── StoreError                  the run store could not be read or written
    │   └── StoreUnwritableError    .target, .reason, .unwritten (read-only, no permission, full)
    ├── MissingExtraError           .extra (an optional dependency is not installed)
    └── StorageError                .location, .url, .path, .problem (no secret, ever)
        ├── StorageNotFoundError    the path, bucket or folder does not exist
        ├── StoragePermissionError  refused: wrong or missing credentials, not allowed
        ├── StorageUnreachableError connection refused, unknown host, timeout
        ├── StorageReadOnlyError    a write to a read-only location (http)
        └── DownloadError           a transfer cut off more often than retried (part kept)

    UserInputError also has (hoist.errors.datasets):
    ├── DatasetValidationError      .path, .line, .json_path, .rule (a dataset breaks its format)
    └── DatasetConversionError      .reason (unknown format, or a lossy conversion not allowed)

    and (hoist.errors.packaging, hoist.errors.storage):
    ├── PackagingError              .path (a plugin that cannot be packaged)
    ├── IgnoreFileError             a ConfigError: .path, .line (a broken .hoistignore pattern)
    ├── UnsafeArchiveError          .archive, .member, .reason (an entry would leave the target)
    ├── VersionExistsError          .code, .version, .location (published already; --force)
    ├── PluginExistsError           .path (installed already; --force)
    └── ChecksumMismatchError       .source, .expected, .actual (the file is not kept)

Lower-layer exceptions (pydantic's, SQLAlchemy's, yaml's) are mapped to these at one
boundary each and chained with ``from``.
"""

from __future__ import annotations

from hoist.errors.base import (
    ConfigError,
    HoistError,
    MissingExtraError,
    NotFoundError,
    ParamsValidationError,
    UserInputError,
    field_errors_from_pydantic,
)
from hoist.errors.datasets import DatasetConversionError, DatasetValidationError
from hoist.errors.deployment import (
    AdaptationError,
    DeploymentError,
    DeploymentNotFoundError,
    DeploymentNotReadyError,
    EngineUnavailableError,
    StrategyDefinitionError,
    StrategyNotFoundError,
)
from hoist.errors.packaging import (
    IgnoreFileError,
    PackagingError,
    PluginExistsError,
    UnsafeArchiveError,
    VersionExistsError,
)
from hoist.errors.runs import (
    ActionFailedError,
    ActionNotFoundError,
    IncompatibleTypesError,
    PipelineDefinitionError,
    PluginNotFoundError,
    ResultValidationError,
    ResumeError,
    RunCancelledError,
    RunLostError,
    RunNotFoundError,
    RunWriteError,
    ServeModeError,
    StoreError,
    StoreUnwritableError,
    UnknownModeError,
)
from hoist.errors.services import (
    EntryPointError,
    IdentityError,
    LockExpiredError,
    LockNotFoundError,
    RunPathError,
    ServiceBusyError,
    UploadTooLargeError,
)
from hoist.errors.storage import (
    ChecksumMismatchError,
    DownloadError,
    StorageError,
    StorageLocationNotFoundError,
    StorageNotFoundError,
    StoragePermissionError,
    StorageReadOnlyError,
    StorageUnreachableError,
)

__all__ = [
    "ActionFailedError",
    "ActionNotFoundError",
    "AdaptationError",
    "ChecksumMismatchError",
    "ConfigError",
    "DatasetConversionError",
    "DatasetValidationError",
    "DeploymentError",
    "DeploymentNotFoundError",
    "DeploymentNotReadyError",
    "DownloadError",
    "EngineUnavailableError",
    "EntryPointError",
    "HoistError",
    "IdentityError",
    "IgnoreFileError",
    "IncompatibleTypesError",
    "LockExpiredError",
    "LockNotFoundError",
    "MissingExtraError",
    "NotFoundError",
    "PackagingError",
    "ParamsValidationError",
    "PipelineDefinitionError",
    "PluginExistsError",
    "PluginNotFoundError",
    "ResultValidationError",
    "ResumeError",
    "RunCancelledError",
    "RunLostError",
    "RunNotFoundError",
    "RunPathError",
    "RunWriteError",
    "ServeModeError",
    "ServiceBusyError",
    "StorageError",
    "StorageLocationNotFoundError",
    "StorageNotFoundError",
    "StoragePermissionError",
    "StorageReadOnlyError",
    "StorageUnreachableError",
    "StoreError",
    "StoreUnwritableError",
    "StrategyDefinitionError",
    "StrategyNotFoundError",
    "UnknownModeError",
    "UnsafeArchiveError",
    "UploadTooLargeError",
    "UserInputError",
    "VersionExistsError",
    "field_errors_from_pydantic",
]

# One public home: tracebacks, stored error types and pickles name ``hoist.errors.X``
# whichever submodule defines X.
for _name in __all__:
    _obj = globals()[_name]
    if isinstance(_obj, type):
        _obj.__module__ = __name__
del _name, _obj
