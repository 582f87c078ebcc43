"""The idmflow engine: definitions -> compiled machines -> running instances.

Generic: it names no process. A host calls `open()` and gets an `Engine`; a use case fills in
a `ProcessDefinition` and registers it under the entry-point group `idmflow.processes`.
"""

from .compiler import CompiledLifecycle, CompiledProcess, compile_lifecycle, compile_process
from .context import StepContext
from .definitions import Handler, Lifecycle, OptionSpec, ProcessDefinition, Step, Transition
from .errors import (Conflict, DatabaseUnavailable, DefinitionError, IdmflowError, InputError,
                     NotAllowed, NotFound, OptionScriptError)
from .instances import InstanceView
from .options import DeclaredDefaults, FixedOptions, OptionsProvider, OptionsSnapshot
from .ports import (USER_STATES, Account, Accounts, Clock, DirectoryUser, Notification, Notifier,
                    UserDirectory, UserQuery, UserState)
from .records import AuditRecord, EntityRecord
from .registry import Registry
from .runtime import Engine
from .views import render_step
from .validation import problems_of, validate_lifecycle, validate_process
from .wiring import open

__all__ = [
    "Account", "Accounts", "AuditRecord", "EntityRecord", "Clock", "CompiledLifecycle", "CompiledProcess", "Conflict",
    "DatabaseUnavailable", "DeclaredDefaults", "DefinitionError", "DirectoryUser", "Engine",
    "FixedOptions", "Handler", "IdmflowError", "InputError", "InstanceView", "Lifecycle",
    "NotAllowed", "NotFound", "Notification", "Notifier", "OptionScriptError", "OptionSpec",
    "OptionsProvider", "OptionsSnapshot", "ProcessDefinition", "Registry", "Step",
    "StepContext", "Transition", "USER_STATES", "UserDirectory", "UserQuery", "UserState",
    "compile_lifecycle", "compile_process", "open", "problems_of", "render_step", "validate_lifecycle",
    "validate_process",
]
