"""The settings every preset derives from, and the declarative preset: a `preset.yaml` of the REST
connector's settings, filled in with the user's values and read by the REST connector.

A preset's settings are the tenant's `base_url`, its credentials under the vendor's own names (each a
secret), options with defaults the YAML may override, and the company's own status words, tried before
the preset's status table."""

from __future__ import annotations

import builtins
from functools import cache
from typing import Any, ClassVar, Self
from urllib.parse import urlsplit

from pydantic import BaseModel, Field, PrivateAttr, SecretStr, ValidationError, model_validator
from pydantic.json_schema import SkipJsonSchema

from orderbridge.connectors.auth_settings import AuthSettings, NoAuthSettings
from orderbridge.connectors.http_settings import HttpSystemSettings
from orderbridge.connectors.presets.template import Gap, Template, TemplateError, fill, load_template
from orderbridge.connectors.push.codes import with_preset
from orderbridge.connectors.rest.settings import RestPollSettings, RestSettings
from orderbridge.mapping.status import StatusTable

# Settings of the HTTP layer a preset passes on to the REST connector as the user gave them.
PASSED_ON = (
    "enabled",
    "timezone",
    "date_order",
    "decimal_separator",
    "link_by",
    "timeout",
    "retry",
    "budget",
    "redirects",
)


class PresetSettings(HttpSystemSettings):
    """A named system's API. Subclasses declare the vendor's credentials as SecretStr fields and say
    in `credentials()` how they authenticate; `preset_status()` is the vendor's status table."""

    gaps: ClassVar[tuple[Gap, ...]] = ()  # parts the vendor's documentation leaves uncertain

    auth: SkipJsonSchema[AuthSettings] = Field(
        default_factory=NoAuthSettings, exclude=True, description="Set by the preset from its credentials."
    )
    status: builtins.list[StatusTable] = Field(
        default_factory=builtins.list,
        description="Your own status words (custom picklist values, renamed states), per dimension: tried "
        "before the preset's table, so they add words or map one differently.",
    )

    @model_validator(mode="before")
    @classmethod
    def _credentials_by_name(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        in_url = isinstance(data.get("base_url"), str) and "@" in urlsplit(data["base_url"].strip()).netloc
        if "auth" in data or in_url:
            names = [n for n, f in cls.model_fields.items() if f.annotation in (SecretStr, SecretStr | None)]
            where = "a user name and password in base_url" if in_url else "an `auth` block"
            raise ValueError(
                f"a {data.get('type', 'preset')} system takes its credentials by their own names "
                f"({', '.join(names) or 'none'}), not {where}"
            )
        return data

    @model_validator(mode="after")
    def _complete(self) -> Self:
        given = set(self.model_fields_set)
        self.complete()
        self.__pydantic_fields_set__ = given  # what the user wrote, not what the preset filled in
        return self

    def complete(self) -> None:
        """Fill in what the preset derives from the user's values: status tables and auth."""
        self.status = with_preset(self.status, self.preset_status())
        self.auth = self.credentials()

    def credentials(self) -> AuthSettings:
        return NoAuthSettings()

    def preset_status(self) -> builtins.list[StatusTable]:
        return []

    def warnings(self) -> builtins.list[str]:
        """The documented gaps the user has not settled by setting the part themselves."""
        given = self.model_fields_set
        return [gap.warning() for gap in self.documented_gaps() if gap.setting.split(".")[0] not in given]

    @classmethod
    def documented_gaps(cls) -> tuple[Gap, ...]:
        return cls.gaps


class DeclarativePreset(PresetSettings):
    """A preset whose `preset.yaml` (beside its settings module) is expanded into the REST connector's
    settings: `{{name}}` there is the value of this block's setting `name`. A credential stays a secret:
    it fills only a whole value, of a secret-typed setting (anything else is refused). The user's
    `fields` override the template's one by one; `order_id`, when given, whole."""

    template_file: ClassVar[str] = "preset.yaml"
    derived: ClassVar[tuple[str, ...]] = ()  # names template_values() adds to the settings' own

    poll: RestPollSettings = Field(default_factory=RestPollSettings, description="When to poll.")
    _rest: RestSettings | None = PrivateAttr(default=None)

    @classmethod
    def template(cls) -> Template:
        return _template(cls.__module__.rpartition(".")[0], cls.template_file)

    @classmethod
    def documented_gaps(cls) -> tuple[Gap, ...]:
        return (*cls.gaps, *cls.template().gaps)

    def template_values(self) -> dict[str, Any]:
        """What `{{name}}` stands for: each setting by name; a preset may add derived values (named
        in `derived`)."""
        values: dict[str, Any] = {}
        for name in type(self).model_fields:
            value = getattr(self, name)
            if isinstance(value, BaseModel):
                value = value.model_dump(mode="json")
            values[name] = value
        values["base_url"] = str(self.base_url).rstrip("/")
        return values

    def preset_status(self) -> builtins.list[StatusTable]:
        return [StatusTable.model_validate(t) for t in self._filled(self.template().status)]

    def complete(self) -> None:
        block = self._filled(self.template().rest)
        self.status = with_preset(self.status, self.preset_status())
        block["fields"] = {**block.get("fields", {}), **self.fields.model_dump(exclude_unset=True)}
        block["headers"] = {**block.get("headers", {}), **self.headers}
        try:
            rest = RestSettings.model_validate({**block, "type": "rest", "base_url": str(self.base_url)})
        except ValidationError as exc:
            problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or '.'}: {e['msg']}" for e in exc.errors())
            raise ValueError(f"these settings make the {self.type} preset invalid: {problems}") from None
        update = {name: getattr(self, name) for name in PASSED_ON}
        update |= {"status": self.status, "poll": self.poll, "errors": [*rest.errors, *self.errors]}
        if "order_id" in self.model_fields_set or "order_id" not in block:
            update["order_id"] = self.order_id  # the user's rule, or the preset class's default
        rest = rest.model_copy(update=update)
        self.order_id, self.fields, self.auth, self.headers = (
            rest.order_id,
            rest.fields,
            rest.auth,
            rest.headers,
        )
        self._rest = rest

    def _filled(self, part: Any) -> Any:
        try:
            return fill(part, self.template_values())
        except KeyError as exc:
            name = exc.args[0]
            raise TemplateError(f"the {self.type} preset asks for {{{{{name}}}}}, no such setting") from None

    def rest(self) -> RestSettings:
        """The REST connector's settings this block expands to."""
        assert self._rest is not None, "validated settings are always expanded"
        return self._rest

    def effective(self) -> RestSettings:
        return self.rest()

    def streams(self, name: str) -> dict[str, builtins.list[str]]:
        return self.rest().streams(name)


@cache
def _template(package: str, name: str) -> Template:
    return load_template(package, name)
