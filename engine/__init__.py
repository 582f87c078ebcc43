"""The idmflow engine: definitions -> compiled machines -> running instances.

Generic: it names no process. A host calls `open()` and gets an `Engine`; a use case fills in
a `ProcessDefinition` and registers it under the entry-point group `idmflow.processes`.
"""

from .compiler import CompiledLifecycle, CompiledProcess, compile_lifecycle, compile_process
from .context import StepContext, TaskContext
from .definitions import (Handler, Invariant, Lifecycle, OptionSpec, ProcessDefinition,
                          RuleSpec, Step, TaskSpec, Transition)
from .errors import (Conflict, DatabaseUnavailable, DefinitionError, IdmflowError, InputError,
                     InvariantViolation, NotAllowed, NotFound, OptionScriptError)
from .instances import InstanceView
from .options import DeclaredDefaults, FixedOptions, OptionsProvider, OptionsSnapshot
from .ports import (USER_STATES, Account, Accounts, Clock, DirectoryUser, Notification, Notifier,
                    Producer, ProductionOrder, ProductionResult, UserDirectory, UserQuery,
                    UserState)
from .records import AuditRecord, EntityRecord, MailRecord, TaskView
from .registry import Registry
from .scripts import OptionScripts, ScriptSchema, ScriptVersion
from .runtime import Engine
from .mail import Delivery
from .views import render_mail, render_step
from .validation import problems_of, validate_lifecycle, validate_process
from .invariants import upgrade_schema
from .wiring import open

__all__ = [
    "Account", "Accounts", "AuditRecord", "Clock", "CompiledLifecycle", "CompiledProcess",
    "Conflict", "DatabaseUnavailable", "DeclaredDefaults", "DefinitionError", "Delivery",
    "DirectoryUser", "Engine", "EntityRecord", "FixedOptions", "Handler", "IdmflowError",
    "InputError", "InstanceView", "Invariant", "InvariantViolation", "Lifecycle", "MailRecord", "NotAllowed", "NotFound",
    "Notification", "Notifier", "OptionScriptError", "OptionScripts", "OptionSpec",
    "OptionsProvider", "OptionsSnapshot", "ProcessDefinition", "Producer", "ProductionOrder",
    "ProductionResult", "Registry", "RuleSpec", "ScriptSchema", "ScriptVersion", "Step",
    "StepContext", "TaskContext", "TaskSpec", "TaskView", "Transition", "USER_STATES",
    "UserDirectory", "UserQuery", "UserState", "compile_lifecycle", "compile_process", "open",
    "problems_of", "render_mail", "render_step", "upgrade_schema", "validate_lifecycle",
    "validate_process",
]
