"""The spec: what sandbox.yaml may say, as pydantic models that reject unknown keys."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    StrictInt,
    StrictStr,
    Tag,
    ValidationInfo,
    field_validator,
    model_validator,
)

from generator.fields import (
    AbsPath,
    AptPackage,
    CommandWord,
    DockerfileText,
    Duration,
    EnvName,
    FileMode,
    HomePath,
    ImageDigest,
    ImageName,
    ImageTag,
    LabelKey,
    Name,
    Platform,
    ProjectPath,
    SudoCommand,
    Text,
    _pattern,
    moving_tag_word,
    system_directory,
)
from generator.methods.registry import Builders, MethodPolicies, Tool

#: the variable that hands runtime.volumes to the image's entrypoint
DATA_DIRS_ENV = "SANDBOX_DATA_DIRS"

#: A spec-level problem: where it is (a pydantic-style location) and what is wrong.
Issue = tuple[tuple[str | int, ...], str]


class Model(BaseModel):
    # defer_build: a model's validator is built when it first validates, not when its class
    # is created. Spec's validator holds every nested model (each tool method too), so they
    # are built once, inside it, instead of once on their own and again inside Spec: ~7 ms
    # less CPU per cold `sandbox generate` (bench/generator_speed.py). The same in every
    # model of generator/methods.
    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)


class Labels(Model):
    """OCI image labels (org.opencontainers.image.*). version, revision and created are
    build arguments, so the Dockerfile itself stays the same from build to build."""

    title: DockerfileText
    description: DockerfileText
    url: DockerfileText
    source: DockerfileText
    vendor: DockerfileText
    licenses: DockerfileText
    #: extra labels, full key names (e.g. com.example.team)
    extra: dict[LabelKey, DockerfileText] = {}


class ImageSpec(Model):
    #: primary name (Docker Hub)
    name: ImageName
    #: mirrors tried in order when the primary cannot be pulled
    mirrors: list[ImageName] = []
    #: the tag `build` and `pull` use when none is given (this is our own image's tag,
    #: not a base image: a moving tag is fine here)
    tag: ImageTag = "latest"
    labels: Labels
    #: digest that `pull` must see, if the project pins one
    digest: ImageDigest | None = None


class BaseImage(Model):
    image: ImageName
    tag: ImageTag
    #: optional pin: the build uses image:tag@digest
    digest: ImageDigest | None = None
    #: apt packages in the base stage, shared by every stage (fetching needs curl)
    packages: list[AptPackage] = ["ca-certificates", "curl"]
    #: why base packages are unpinned, if they are (rendered beside hadolint's DL3008)
    unpinned_reason: Text | None = None
    #: dpkg leaves out docs, man/info pages and translations of what the build installs
    #: (copyright files stay), as ubuntu:24.04's minimized image already does for itself
    exclude_docs: bool = Field(
        True,
        description="dpkg leaves out /usr/share/doc (except copyright files), man and info pages and "
        "translations of every package the build installs: smaller layers, less for dpkg to write. "
        "false installs them; it cannot restore what the base image itself already excludes "
        "(ubuntu:24.04 is minimized this way; Ubuntu's `unminimize` undoes that).",
    )

    @field_validator("tag")
    @classmethod
    def _not_moving(cls, value: str) -> str:
        word = moving_tag_word(value)
        if word:
            moves = f"'{value}' moves" if word == value.lower() else f"'{value}' moves ({word})"
            raise ValueError(f"the base image tag {moves}; pin a release tag such as 24.04")
        return value

    @property
    def reference(self) -> str:
        ref = f"{self.image}:{self.tag}"
        return f"{ref}@{self.digest}" if self.digest else ref


def _sudo_kind(value: Any) -> str:
    return "programs" if isinstance(value, list) else "every-or-none"


#: user.sudo: true (every command), false (none) or the programs it may run. Tagged by the
#: value's shape, so a bad list is reported item by item, not also as "not true or false"
#: (the loader skips the tags in a location: UNION_TAGS)
SudoSetting = Annotated[
    Annotated[bool, Tag("every-or-none")] | Annotated[list[SudoCommand], Field(min_length=1), Tag("programs")],
    Discriminator(_sudo_kind),
]
UNION_TAGS = frozenset({"every-or-none", "programs"})

UserName = Annotated[StrictStr, _pattern(r"[a-z_][a-z0-9_-]{0,31}", "a POSIX user name")]


class UserSpec(Model):
    name: UserName = "opencode"
    uid: StrictInt = Field(1000, ge=1, le=65533)
    gid: StrictInt = Field(1000, ge=1, le=65533)
    #: login shell (the package that provides it must be installed by a tool)
    shell: AbsPath = "/usr/bin/zsh"
    #: passwordless sudo through a 0440 drop-in under /etc/sudoers.d: true for every command,
    #: false for none, or the programs it may run as root (e.g. [/usr/bin/apt-get]: least
    #: privilege; a program that runs others, such as a shell or env, is every command again)
    sudo: SudoSetting = True
    home: AbsPath | None = None
    #: where users' projects live (created, owned by the user, and the WORKDIR); ~ is the
    #: user's home, so the path follows a renamed user
    workspace: HomePath | None = None

    @field_validator("home")
    @classmethod
    def _own_home(cls, value: str | None, info: ValidationInfo) -> str | None:
        # the user owns its home, and every ~ path is read inside it
        reason = system_directory(value) if value else None
        if reason:
            name = info.data.get("name") or "opencode"
            raise ValueError(f"{value!r} {reason}, and the user would own it; omit home for /home/{name}, or give a directory of its own")
        return value

    @property
    def home_dir(self) -> str:
        # without a trailing '/': ~/x is spliced on as home + "/x"
        return self.home.rstrip("/") if self.home else f"/home/{self.name}"

    @property
    def workspace_dir(self) -> str:
        return self.in_home(self.workspace) if self.workspace else f"{self.home_dir}/workspace"

    def in_home(self, path: str) -> str:
        """``path`` with a leading ~ replaced by the user's home (HomePath refuses ~name)."""
        return self.home_dir + path[1:] if path.startswith("~") else path


#: the levels opencode's --log-level takes (its global options, src/index.ts)
SERVER_LOG_LEVELS = ("DEBUG", "INFO", "WARN", "ERROR")
SERVER_FORM = (
    "opencode's web server as the image's entrypoint recognises it: opencode (or a path to it), "
    f"then only --print-logs or --log-level {'|'.join(SERVER_LOG_LEVELS)}, then web or serve"
)


def server_command_problem(command: Sequence[str]) -> tuple[int | None, str] | None:
    """Where ``command`` leaves the one form of opencode's web server that the image's
    entrypoint recognises (files/sandbox-entrypoint, is_web_server: the same rule), and what
    it has there: (index of the word, or None for the command as a whole; what was found).
    None when it is that form.

    The entrypoint exports the password for any command, but only this form is known to be
    opencode's server (a wrapper such as env or sh -c may start anything, or drop the
    password) and only this form gets the port and address from the environment."""
    if not command:
        return None, "an empty command"
    if command[0].rsplit("/", 1)[-1] != "opencode":
        return 0, repr(command[0])
    index = 1
    while index < len(command):
        word = command[index]
        if word in ("web", "serve"):
            return None
        if word == "--print-logs" or (word.startswith("--log-level=") and word.split("=", 1)[1] in SERVER_LOG_LEVELS):
            index += 1
        elif word == "--log-level" and index + 1 < len(command):
            if command[index + 1] not in SERVER_LOG_LEVELS:
                return index + 1, f"{command[index + 1]!r} after --log-level"
            index += 2
        else:
            return index, repr(word)
    return None, "no web or serve"


class Healthcheck(Model):
    #: path of the HTTP check against the server inside the container
    path: Annotated[StrictStr, _pattern(r"/[A-Za-z0-9._~/-]*", "a URL path such as / or /health")] = "/"
    interval: Duration = "30s"
    timeout: Duration = "5s"
    start_period: Duration = "30s"
    retries: StrictInt = Field(3, ge=1, le=100)
    #: a script in the image run as `SCRIPT URL` instead of the built-in curl command
    #: (lets the check print why it failed); omitted means plain curl
    script: AbsPath | None = None


#: Linux capabilities by their Docker names (CAP_ dropped)
Capability = Literal[
    "AUDIT_WRITE", "CHOWN", "DAC_OVERRIDE", "DAC_READ_SEARCH", "FOWNER", "FSETID", "KILL", "MKNOD", "NET_BIND_SERVICE",
    "NET_RAW", "SETFCAP", "SETGID", "SETPCAP", "SETUID", "SYS_CHROOT",
]  # fmt: skip
#: what sudo and the root commands it runs need: sudo changes its uid and gids (SETUID,
#: SETGID) and writes to the audit log (AUDIT_WRITE); as root, files of other owners are
#: read, written and chowned (DAC_OVERRIDE, FOWNER, CHOWN), as the entrypoint does to repair
#: a volume's owner
SUDO_CAPABILITIES: tuple[Capability, ...] = ("AUDIT_WRITE", "CHOWN", "DAC_OVERRIDE", "FOWNER", "SETGID", "SETUID")
#: the memory limit, as docker takes it: a number and a unit
MemorySize = Annotated[StrictStr, _pattern(r"[1-9][0-9]{0,5}[kmg]", "a size such as 512m or 8g")]


class Hardening(Model):
    """How a hardened sandbox runs (`sandbox test --hardened`): a read-only root, with the
    volumes and these tmpfs writable; every capability dropped but those kept; no new
    privileges when the user has no sudo; limits on processes and memory."""

    read_only: bool = True
    #: writable scratch directories on a read-only root (~ is the user's home), emptied at
    #: every start: /tmp, /run (sudo keeps its state there) and the caches the toolchains
    #: write (~/.cache: go's build cache, pip, black, opencode's own; ~/.npm). Not ~/.cargo:
    #: rustup's binaries live there, and a tmpfs would hide them (cargo needs it writable only
    #: to fetch dependencies)
    tmpfs: list[HomePath] = ["/tmp", "/run", "~/.cache", "~/.npm"]

    @field_validator("tmpfs")
    @classmethod
    def _scratch_only(cls, value: list[str]) -> list[str]:
        # an empty directory mounted over the root or the whole home hides the image itself
        for path in value:
            if path.rstrip("/") in ("", "~"):
                raise ValueError(f"{path!r} would hide the image under an empty tmpfs; name the scratch directories (e.g. /tmp, ~/.cache)")
        return value

    #: capabilities kept (all others dropped); omitted means what user.sudo needs
    #: (SUDO_CAPABILITIES with sudo, none without)
    capabilities: list[Capability] | None = None
    pids_limit: StrictInt = Field(4096, ge=64, le=1_000_000)
    memory: MemorySize = "8g"


#: the gate's ports besides the web UI's (runtime.compose): its forward proxy, and the first of
#: one per provider, in the order runtime.providers lists them
GATE_PROXY_PORT = 3128
GATE_FIRST_PROVIDER_PORT = 4001

#: a host the agent may reach through the gate's proxy: a name with at least one dot
#: (pypi.org), or with a leading dot the domain and every name under it (.github.com); never
#: an IP address (its last label must start with a letter), so the list names hosts only
EgressHost = Annotated[
    StrictStr,
    _pattern(
        r"\.?([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]([a-z0-9-]{0,61}[a-z0-9])?",
        "a host name such as pypi.org, or .github.com for a domain and its subdomains (no IP address, no port)",
    ),
]
#: where a provider's API is: http(s), a host, an optional port and path
ProviderUrl = Annotated[
    StrictStr,
    _pattern(
        r"https?://[a-z0-9]([a-z0-9.-]{0,251}[a-z0-9])?(:[0-9]{1,5})?(/[A-Za-z0-9._~/-]*)?",
        "an http(s) URL such as https://api.anthropic.com/v1 (host, optional port and path; no query)",
    ),
]


class Egress(Model):
    """Where the agent's traffic may go. By default the sandbox has no route out: it sits on a
    network of its own whose only other member is the gate, a squid proxy that lets through
    the hosts named here and those the profile's toolchains need (their package registries)."""

    #: true: the sandbox joins the engine's outside network directly, with no allowlist; the
    #: image's entrypoint warns at every start
    open: bool = False
    #: hosts reachable through the gate besides the toolchains' registries (git hosts, your
    #: own registry, a provider whose key you keep yourself)
    allow: list[EgressHost] = []
    #: false: only the hosts in allow (no registries derived from the profile's tools)
    toolchain_registries: bool = True


class Provider(Model):
    """A model provider whose API key the gate holds: opencode in the sandbox is given the
    gate's address and no key; the gate adds the key (a compose secret) to each request."""

    #: opencode's provider id (anthropic, openai, ... or one you define with npm and models)
    id: Name
    #: the provider's API as opencode would call it without the gate
    url: ProviderUrl
    #: the request header that carries the key (the gate drops any such header the sandbox sends)
    header: Annotated[StrictStr, _pattern(r"[A-Za-z][A-Za-z0-9-]{0,63}", "a header name such as x-api-key or authorization")]
    #: what precedes the key in the header, e.g. Bearer for authorization; empty: the key alone
    scheme: Annotated[StrictStr, _pattern(r"[A-Za-z]{0,32}", "a word such as Bearer, or empty")] = ""
    #: for a provider opencode does not know: the AI SDK package that speaks its API
    npm: Annotated[StrictStr, _pattern(r"(@[a-z0-9][a-z0-9._-]*/)?[a-z0-9][a-z0-9._-]*", "an npm package name")] | None = None
    #: for a provider opencode does not know: the ids of its models
    models: list[Name] = []

    @model_validator(mode="after")
    def _models_need_a_package(self) -> Provider:
        if self.models and self.npm is None:
            raise ValueError("models are declared only for a provider with npm (its AI SDK package)")
        return self


class Runtime(Model):
    #: PID 1: reaps zombies and forwards signals
    init: Literal["tini", "dumb-init"] = "tini"
    #: the server started by default; the renderer appends the bind address and port
    command: list[CommandWord] = ["opencode", "web"]
    #: flags that bind the server: {host} and {port} are filled in
    bind_args: list[Annotated[StrictStr, _pattern(r"[A-Za-z0-9._=:{}-]+", "a flag")]] = [
        "--hostname",
        "{host}",
        "--port",
        "{port}",
    ]
    #: follows --hostname in the server's arguments: never starting with '-' (an option) or '.'
    host: Annotated[
        StrictStr,
        _pattern(r"[a-z0-9][a-z0-9.-]{0,252}", "an address or host name: letters, digits, '.', '-' (not starting with '-' or '.')"),
    ] = "0.0.0.0"
    port: StrictInt = Field(3000, ge=1, le=65535)
    healthcheck: Healthcheck = Healthcheck()
    #: a script run by the init before the command (ENTRYPOINT [init, "--", script]); it
    #: must end with `exec "$@"`. Omitted means the init starts the command directly
    entrypoint: AbsPath | None = None
    #: what the server asks of a client that sends no credentials: basic means it must
    #: answer 401 with a Basic challenge (the image's entrypoint sets a password), and
    #: `sandbox test` checks that it does; none means it serves openly. basic needs a command
    #: the entrypoint recognises as opencode's server (server_command_problem)
    auth: Literal["basic", "none"] = "none"
    #: directories whose data must outlive the container: declared as VOLUMEs, and handed to
    #: the entrypoint as SANDBOX_DATA_DIRS (it repairs their owner and warns when one is not
    #: a volume or bind mount); ~ is the user's home
    volumes: list[HomePath] = []
    #: the hardened way to run the image (see Hardening)
    hardening: Hardening = Hardening()
    #: where the agent's traffic may go (see Egress)
    egress: Egress = Egress()
    #: model providers whose keys the gate holds, outside the sandbox (see Provider)
    providers: list[Provider] = []
    #: the Compose file generated beside the Dockerfiles (the gate's files go in gate/ beside
    #: it); omitted: none is generated
    compose: ProjectPath | None = None

    @model_validator(mode="after")
    def _port_free_in_the_gate(self) -> Runtime:
        # the gate listens on the UI's port, its proxy's and one per provider (generator.runfiles)
        if self.compose is not None:
            taken = {GATE_PROXY_PORT: "the gate's proxy"}
            taken.update({GATE_FIRST_PROVIDER_PORT + i: f"the gate's port for provider {p.id!r}" for i, p in enumerate(self.providers)})
            if self.port in taken:
                raise ValueError(f"port {self.port} is {taken[self.port]} (runtime.compose); give the web UI another port")
        return self

    @field_validator("providers")
    @classmethod
    def _one_entry_per_provider(cls, value: list[Provider]) -> list[Provider]:
        seen = [provider.id for provider in value]
        twice = sorted({name for name in seen if seen.count(name) > 1})
        if twice:
            raise ValueError(f"provider {twice[0]!r} is declared twice")
        return value


class FileCopy(Model):
    """A file from the repository's files/ directory, copied into the image."""

    src: ProjectPath
    #: where the file goes; ~ is the user's home
    dest: HomePath
    #: owned by the sandbox user (else root)
    user_owned: bool = False
    #: the file's mode in the image (COPY --chmod), whatever mode the build context gave it:
    #: an entrypoint stays executable even from a checkout that lost its file modes
    mode: FileMode | None = None


# the rules of one method (apt_pins) are declared by that method: MethodPolicies
class Policy(MethodPolicies):
    """What `sandbox audit` holds the spec to, beyond what validation already requires."""

    #: required: a digest that `sandbox lock` took on first use (checked against no upstream
    #: checksum file and no equal sha256 in sandbox.yaml) fails `sandbox audit --strict`;
    #: optional: the audit lists it all the same, and --strict lets it pass
    independent_verification: Literal["optional", "required"] = "optional"


class Profile(Model):
    #: file the profile renders to, relative to the spec's directory
    output: ProjectPath
    description: Text = ""


class Spec(Model):
    """A whole sandbox image, as declared in sandbox.yaml."""

    schema_version: Literal[1] = 1
    image: ImageSpec
    base: BaseImage
    platforms: list[Platform] = ["linux/amd64", "linux/arm64"]
    user: UserSpec = UserSpec()
    #: environment of the running container (DEBIAN_FRONTEND is build-time only)
    env: dict[EnvName, DockerfileText] = {"TZ": "UTC", "LANG": "C.UTF-8", "LC_ALL": "C.UTF-8"}
    #: directories put in front of PATH, in order; ~ means the user's home
    path: list[HomePath] = []
    runtime: Runtime = Runtime()
    files: list[FileCopy] = []
    builders: Builders = Builders()
    #: variants of the image; the first is the default
    profiles: dict[Name, Profile] = {"default": Profile(output="Dockerfile")}
    tools: list[Tool] = []
    policy: Policy = Policy()

    #: the file this spec was read from (set by the loader, not part of the YAML)
    source: Path | None = Field(default=None, exclude=True)

    @field_validator("env")
    @classmethod
    def _no_build_only_env(cls, value: dict[str, str]) -> dict[str, str]:
        if "DEBIAN_FRONTEND" in value:
            raise ValueError("DEBIAN_FRONTEND is set at build time only (it would leak into users' shells)")
        if DATA_DIRS_ENV in value:
            raise ValueError(f"{DATA_DIRS_ENV} is set from runtime.volumes; list the directories there")
        return value

    @model_validator(mode="after")
    def _has_profiles(self) -> Spec:
        if not self.profiles:
            raise ValueError("declare at least one profile")
        return self

    @property
    def default_profile(self) -> str:
        return next(iter(self.profiles))

    @property
    def arches(self) -> list[str]:
        return [p.split("/", 1)[1] for p in self.platforms]

    def tools_for(self, profile: str) -> list[Tool]:
        return [t for t in self.tools if t.in_profile(profile)]

    @property
    def volume_dirs(self) -> list[str]:
        """runtime.volumes as directories of the image (~ expanded)."""
        return [self.user.in_home(path) for path in self.runtime.volumes]

    def issues(self, incomplete: frozenset[str] = frozenset(), positions: list[int] | None = None) -> Iterator[Issue]:
        """Problems that span several fields (each located at the field to fix).

        For a spec that did not validate whole, the loader builds one of the fields that
        did: ``incomplete`` names the top-level fields left out or cut short ("tools": some
        tools were left out), and every check that reads one of them is skipped rather than
        guess; ``positions`` gives each tool's index in the file."""
        at = positions or list(range(len(self.tools)))
        seen: dict[str, int] = {}
        stages: dict[str, int] = {}
        outputs: dict[str, str] = {}
        if "profiles" not in incomplete:
            for name, profile in self.profiles.items():
                if profile.output in outputs:
                    yield ("profiles", name, "output"), f"output {profile.output} is also used by profile {outputs[profile.output]}"
                outputs[profile.output] = name
        for index, tool in enumerate(self.tools):
            if tool.name in seen:
                yield ("tools", at[index], "name"), f"duplicate tool name {tool.name!r} (also tools[{at[seen[tool.name]]}])"
            elif tool.stage_name in stages:
                # '.', '_' and '-' all become '-' in a stage name: two stages of one name
                # would make the second FROM shadow the first
                other = stages[tool.stage_name]
                yield (
                    ("tools", at[index], "name"),
                    f"tool name {tool.name!r} gives the same build stage name {tool.stage_name!r} as "
                    f"tools[{at[other]}] ({self.tools[other].name!r}); rename one",
                )
            seen.setdefault(tool.name, index)
            stages.setdefault(tool.stage_name, index)
            if "profiles" not in incomplete:
                for profile_name in tool.profiles or []:
                    if profile_name not in self.profiles:
                        yield ("tools", at[index], "profiles"), f"unknown profile {profile_name!r}; declared: {', '.join(self.profiles)}"
            if tool.enabled:
                if "platforms" not in incomplete:
                    for loc, message in tool.platform_issues(self.arches):
                        yield ("tools", at[index], *loc), message
                if "base" not in incomplete:
                    base_packages = {pkg.split("=")[0] for pkg in self.base.packages}
                    for package in tool.base_packages_needed():
                        if package not in base_packages:
                            yield (
                                ("tools", at[index], "method"),
                                f"the {tool.method} stage of {tool.name} runs FROM base and needs {package!r}; add it to base.packages",
                            )
        if "user" not in incomplete:
            yield from self._home_issues(incomplete, at)
        if "runtime" not in incomplete:
            yield from self._auth_issues()
        # which tool provides what: only with every tool, the base, the runtime and the user
        if not incomplete & {"tools", "base", "runtime", "user", "profiles"}:
            for profile_name in self.profiles:
                yield from self._dependency_issues(profile_name)

    def _auth_issues(self) -> Iterator[Issue]:
        """runtime.auth basic claims a server that asks for a password: only a command the
        image's entrypoint recognises as opencode's server is known to be one."""
        problem = server_command_problem(self.runtime.command) if self.runtime.auth == "basic" else None
        if problem is not None:
            word, found = problem
            where: tuple[str | int, ...] = ("runtime", "command") if word is None else ("runtime", "command", word)
            yield where, f"runtime.auth basic needs {SERVER_FORM}; got {found}"

    def _home_issues(self, incomplete: frozenset[str], at: list[int]) -> Iterator[Issue]:
        """Absolute paths in a home that is not the user's: written for another user name
        (the default spec's /home/opencode), they would leave the workspace, the volumes and
        the user's files behind when the user is renamed, without a word. And what the build
        gives the user (the workspace, the volumes, user_owned files) outside its home: never
        a directory of the system or root's home (owning /etc or /usr/local/bin is being root)."""
        home = self.user.home_dir
        paths: list[tuple[tuple[str | int, ...], str | None]] = [(("user", "workspace"), self.user.workspace)]
        owned: list[tuple[tuple[str | int, ...], str | None, str]] = [(("user", "workspace"), self.user.workspace, "dir")]
        if "runtime" not in incomplete:
            paths += [(("runtime", "volumes", i), path) for i, path in enumerate(self.runtime.volumes)]
            owned += [(("runtime", "volumes", i), path, "dir") for i, path in enumerate(self.runtime.volumes)]
        if "files" not in incomplete:
            paths += [(("files", i, "dest"), copy.dest) for i, copy in enumerate(self.files)]
            owned += [(("files", i, "dest"), copy.dest, "file") for i, copy in enumerate(self.files) if copy.user_owned]
        if "path" not in incomplete:
            paths += [(("path", i), path) for i, path in enumerate(self.path)]
        for index, tool in enumerate(self.tools):
            paths += [(("tools", at[index], *loc), path) for loc, path in tool.home_paths()]
        for loc, path in paths:
            if path and path.startswith("/home/") and path.rstrip("/") != home and not path.startswith(home + "/"):
                inside = path.split("/", 3)[3] if path.count("/") >= 3 else ""
                yield (
                    loc,
                    (
                        f"{path!r} is in another user's home: the user's home is {home}; "
                        f"write {'~/' + inside if inside else '~'!r} to follow the user"
                    ),
                )
        for loc, path, kind in owned:
            # ~ paths are in the home (HomePath keeps them there, and user.home is checked)
            if not path or not path.startswith("/") or path.rstrip("/") == home or path.startswith(home + "/"):
                continue
            reason = system_directory(path)
            if not reason:
                continue
            if kind == "dir":
                fix = "the build would make the user its owner; write a path under ~/ or one of its own such as /srv/data"
            else:
                fix = "a user_owned file there would be the user's; write a path under ~/ or drop user_owned"
            yield loc, f"{path!r} {reason}, and {fix}"

    def _dependency_issues(self, profile: str) -> Iterator[Issue]:
        tools = self.tools_for(profile)
        available = {pkg.split("=")[0] for pkg in self.base.packages}
        for tool in tools:
            available.update(tool.commands())
        init = self.runtime.init
        if init not in available:
            yield (
                ("runtime", "init"),
                f"profile {profile!r}: no enabled tool provides {init!r}; "
                f"install it in this profile (e.g. an apt tool with packages: [{init}])",
            )
        shell = self.user.shell.rsplit("/", 1)[-1]
        if shell not in available and shell not in {"bash", "sh"}:
            yield (
                ("user", "shell"),
                f"profile {profile!r}: no enabled tool provides the login shell {shell!r}; install it in this profile "
                f"(e.g. an apt tool with packages: [{shell}]) or set user.shell to /bin/bash",
            )
        for index, tool in enumerate(self.tools):
            # in_profile, not `tool not in tools`: list membership compares models field by
            # field, which made this loop quadratic in the number of tools.
            if not tool.in_profile(profile):
                continue
            for needed in tool.requires:
                if needed not in available:
                    yield (
                        ("tools", index, "method"),
                        f"profile {profile!r}: method {tool.method} needs {needed!r}, which no enabled tool provides; "
                        f"list {needed!r} in the provides: of the tool that installs it (and put that tool in this profile)",
                    )
