"""The idmflow engine: definitions -> compiled machines -> running instances.

Generic: it names no process. A host calls `open()` and gets an `Engine`; a use case fills in
a `ProcessDefinition` and registers it under the entry-point group `idmflow.processes`.

Every name is imported when it is first used (PEP 562 `__getattr__`), not when the package
is: `import idmflow.engine.ports` (all `storage/` may import) and `idmflow --help` then load
no SQLAlchemy, Alembic or transitions. Type checkers see the plain imports below.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .compiler import CompiledLifecycle, CompiledProcess, compile_lifecycle, compile_process
    from .context import Effects, Entities, StepContext, TaskContext
    from .definitions import (Decider, Handler, Invariant, Lifecycle, OptionSpec, ProcessDefinition,
                              RuleSpec, Step, TaskSpec, Transition)
    from .errors import (Conflict, DatabaseUnavailable, DefinitionError, IdmflowError,
                         InputError, InvariantViolation, NotAllowed, NotFound,
                         OptionScriptError, RuleFailed, UnknownDefinitionVersion)
    from .instances import InstanceView
    from .invariants import upgrade_schema
    from .mail import Delivery
    from .options import DeclaredDefaults, FixedOptions, OptionsProvider, OptionsSnapshot
    from .ports import (USER_STATES, Account, Accounts, Clock, DeliveryUncertain, DirectoryUser,
                        Notification,
                        Notifier, Producer, ProductionOrder, ProductionResult, UserDirectory,
                        UserQuery, UserState)
    from .records import AuditRecord, EntityRecord, MailRecord, TaskView
    from .recording import OpenedTask, Recorder
    from .registry import Registry
    from .runtime import Engine
    from .scripts import OptionScripts, ScriptSchema, ScriptVersion
    from .validation import problems_of, validate_lifecycle, validate_process
    from .views import render_mail, render_step
    from .wiring import open

#: module (of this package) -> the public names it holds
_MODULES: dict[str, tuple[str, ...]] = {
    "compiler": ("CompiledLifecycle", "CompiledProcess", "compile_lifecycle", "compile_process"),
    "context": ("Effects", "Entities", "StepContext", "TaskContext"),
    "definitions": ("Decider", "Handler", "Invariant", "Lifecycle", "OptionSpec", "ProcessDefinition",
                    "RuleSpec", "Step", "TaskSpec", "Transition"),
    "errors": ("Conflict", "DatabaseUnavailable", "DefinitionError", "IdmflowError",
               "InputError", "InvariantViolation", "NotAllowed", "NotFound",
               "OptionScriptError", "RuleFailed", "UnknownDefinitionVersion"),
    "instances": ("InstanceView",),
    "invariants": ("upgrade_schema",),
    "mail": ("Delivery",),
    "options": ("DeclaredDefaults", "FixedOptions", "OptionsProvider", "OptionsSnapshot"),
    "ports": ("USER_STATES", "Account", "Accounts", "Clock", "DeliveryUncertain",
              "DirectoryUser", "Notification",
              "Notifier", "Producer", "ProductionOrder", "ProductionResult", "UserDirectory",
              "UserQuery", "UserState"),
    "records": ("AuditRecord", "EntityRecord", "MailRecord", "TaskView"),
    "recording": ("OpenedTask", "Recorder"),
    "registry": ("Registry",),
    "runtime": ("Engine",),
    "scripts": ("OptionScripts", "ScriptSchema", "ScriptVersion"),
    "validation": ("problems_of", "validate_lifecycle", "validate_process"),
    "views": ("render_mail", "render_step"),
    "wiring": ("open",),
}
_HOME = {name: module for module, names in _MODULES.items() for name in names}

__all__ = [
    "Account", "Accounts", "AuditRecord", "Clock", "CompiledLifecycle", "CompiledProcess",
    "Conflict", "DatabaseUnavailable", "Decider", "DeclaredDefaults", "DefinitionError",
    "Delivery", "DeliveryUncertain", "DirectoryUser", "Effects", "Engine", "Entities",
    "EntityRecord", "FixedOptions", "Handler", "IdmflowError", "InputError", "InstanceView",
    "Invariant", "InvariantViolation", "Lifecycle", "MailRecord", "NotAllowed", "NotFound",
    "Notification", "Notifier", "OpenedTask", "OptionScriptError", "OptionScripts",
    "OptionSpec", "OptionsProvider", "OptionsSnapshot", "ProcessDefinition", "Producer",
    "ProductionOrder", "ProductionResult", "Recorder", "Registry", "RuleFailed", "RuleSpec",
    "ScriptSchema", "ScriptVersion", "Step", "StepContext", "TaskContext", "TaskSpec",
    "TaskView", "Transition", "USER_STATES", "UnknownDefinitionVersion", "UserDirectory",
    "UserQuery", "UserState", "compile_lifecycle", "compile_process", "open", "problems_of",
    "render_mail", "render_step", "upgrade_schema", "validate_lifecycle", "validate_process",
]


def __getattr__(name: str) -> Any:
    """Import a public name's module on first use and keep the name here."""
    module = _HOME.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
