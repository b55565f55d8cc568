"""test_ops_docker.py — the container files. Without a Docker engine:
docker-compose validates the compose file, every compose setting has a
default that docker/.env.example documents, the client services run
smm-client itself, the admin-token secret needs no world-readable file,
the Dockerfile builds with exactly scripts/deps.sh and scripts/build.sh,
and its runtime stage holds the two binaries, the libraries they link and
nothing to build with. Where podman is installed (and we are root), the
image is built for real and run by image-check.sh (the project's shared
tool: ../shared/tools/image-check.sh, or $SMM_IMAGE_CHECK)."""
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
import unittest

import harness

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
DOCKER = os.path.join(ROOT, "docker")
COMPOSE = os.path.join(DOCKER, "docker-compose.yml")
IMAGE_CHECK = os.environ.get("SMM_IMAGE_CHECK") or os.path.join(
    ROOT, "..", "shared", "tools", "image-check.sh")
# The image's user and group (docker/Dockerfile), and the services that
# read the admin-token secret.
IMAGE_ID = "7150"
# Packages every debian:bookworm-slim image already has.
BASE_PACKAGES = {"libc6", "libgcc-s1"}
# Build tools: the runtime stage runs none of them.
BUILD_WORDS = re.compile(r"\b(gcc|cc|clang|make|cmake|ninja|build-essential)\b|-dev\b")


def compose(*args, env_file=None):
    argv = ["docker-compose"]
    if env_file:
        argv += ["--env-file", env_file]
    argv += ["-f", COMPOSE, *args]
    # The caller's SMM_* variables would override the defaults under test.
    env = {k: v for k, v in os.environ.items() if not k.startswith("SMM_")}
    return subprocess.run(argv, capture_output=True, text=True, timeout=60, env=env)


def service(config, name):
    """The lines of service name's block in `config` output, dedented."""
    m = re.search(r"^  %s:\n((?:    .*\n|\s*\n)*)" % re.escape(name), config, re.M)
    if not m:
        raise AssertionError("no service %s in:\n%s" % (name, config))
    return m.group(1).replace("\n    ", "\n")[4:]


def yaml_list(block, key):
    """The items of a top-level `key:` list in a service block."""
    m = re.search(r"^%s:\n((?:- .*\n)*)" % re.escape(key), block, re.M)
    return [item[2:].strip("'\"") for item in m.group(1).splitlines()] if m else None


def read(rel):
    with open(os.path.join(ROOT, rel)) as f:
        return f.read()


def dockerfile_stages():
    """[(from_line, [(INSTRUCTION, argument text)])], continuations joined."""
    with open(os.path.join(DOCKER, "Dockerfile")) as f:
        text = re.sub(r"\\\n", " ", f.read())
    stages = []
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        word, _, rest = line.partition(" ")
        word = word.upper()
        if word == "FROM":
            stages.append((rest.strip(), []))
        else:
            stages[-1][1].append((word, " ".join(rest.split())))
    return stages


def shared_library_packages(binary):
    """The Debian packages holding the shared libraries binary links."""
    ldd = subprocess.run(["ldd", binary], capture_output=True, text=True, check=True).stdout
    packages = set()
    for path in re.findall(r"(?:=> )?(/\S+\.so[.\d]*) \(0x", ldd):
        real = os.path.realpath(path)
        for candidate in (path, real, "/usr" + path, "/usr" + real):
            out = subprocess.run(["dpkg", "-S", candidate], capture_output=True, text=True)
            if out.returncode == 0:
                packages.add(out.stdout.split(":")[0])
                break
        else:
            raise AssertionError("no package holds %s" % path)
    return packages


class ComposeTest(unittest.TestCase):

    def test_config_validates(self):
        out = compose("config")
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertIn("127.0.0.1:7150:7150", out.stdout)
        self.assertIn("condition: service_healthy", out.stdout)
        self.assertIn("smm-client", out.stdout)
        self.assertIn("SMM_ADMIN_TOKEN_FILE: /run/secrets/smm_admin_token", out.stdout)

    def test_services_and_long_profile(self):
        out = compose("config", "--services")
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertLessEqual({"smm-server", "smm-client", "smm-client-load"},
                             set(out.stdout.split()))
        out = compose("--profile", "long", "config", "--services")
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertIn("smm-load", out.stdout.split())

    def test_every_setting_has_a_documented_default(self):
        with open(COMPOSE) as f:
            text = re.sub(r"(?m)^\s*#.*$", "", f.read())
        used = re.findall(r"\$\{([A-Z_]+)(:-[^}]*)?\}", text)
        self.assertTrue(used)
        defaults = {}
        for name, default in used:
            with self.subTest(name):
                self.assertTrue(default, "${%s} has no :-default" % name)
                defaults[name] = default[2:]
        documented = {}
        with open(os.path.join(DOCKER, ".env.example")) as f:
            for line in f:
                if re.match(r"^[A-Z_]+=", line):
                    name, value = line.rstrip("\n").split("=", 1)
                    documented[name] = value
        self.assertEqual(documented, defaults)

    def test_env_example_changes_nothing(self):
        plain = compose("config")
        example = compose("config", env_file=os.path.join(DOCKER, ".env.example"))
        self.assertEqual(example.returncode, 0, example.stderr)
        self.assertEqual(example.stdout, plain.stdout)

    def test_client_services_run_smm_client(self):
        # `docker-compose run smm-client stats` runs `smm-client stats`:
        # the service's entrypoint is the client, its command the arguments.
        out = compose("--profile", "long", "config")
        self.assertEqual(out.returncode, 0, out.stderr)
        client = service(out.stdout, "smm-client")
        self.assertEqual(yaml_list(client, "entrypoint"), ["smm-client"])
        self.assertEqual(yaml_list(client, "command")[:2], ["demo", "--reset"])
        load = service(out.stdout, "smm-load")
        self.assertEqual(yaml_list(load, "entrypoint"), ["smm-client"])
        self.assertEqual(yaml_list(load, "command")[0], "load")
        # The short load runs after the demo, on an empty arena again.
        short = service(out.stdout, "smm-client-load")
        self.assertRegex(short, r"smm-client:\n\s+condition: service_completed_successfully")
        self.assertRegex(" ".join(short.split()), r"smm-client reset .* && smm-client load ")

    def test_admin_token_needs_no_world_readable_file(self):
        # Compose mounts the secret's host file with its own owner and mode:
        # each service that reads it joins SMM_SECRET_GID (default: the
        # image's own group), so a 0640 file of the user's group is enough.
        with tempfile.NamedTemporaryFile("w", suffix=".env") as env:
            env.write("SMM_SECRET_GID=4242\n")
            env.flush()
            for env_file, gid in ((None, IMAGE_ID), (env.name, "4242")):
                out = compose("config", env_file=env_file)
                self.assertEqual(out.returncode, 0, out.stderr)
                for name in ("smm-server", "smm-client", "smm-client-load"):
                    with self.subTest(service=name, gid=gid):
                        block = service(out.stdout, name)
                        self.assertIn("source: smm_admin_token", block)
                        self.assertEqual(yaml_list(block, "group_add"), [gid])
        dockerfile = read("docker/Dockerfile")
        self.assertRegex(dockerfile, r"groupadd --system --gid %s smm\b" % IMAGE_ID)
        self.assertRegex(dockerfile, r"useradd --system --uid %s --gid smm\b" % IMAGE_ID)
        for rel in ("README.md", "docker/.env.example", "docker/docker-compose.yml"):
            with self.subTest(rel):
                text = read(rel)
                found = re.search(r"chmod (0?644|a\+r|o\+r)\b.*", text)
                self.assertIsNone(found, found and found.group(0))
        readme = read("README.md")
        self.assertTrue("chmod 640 docker/admin-token" in readme and "SMM_SECRET_GID" in readme,
                        "README.md does not say how to make the token file group-readable")

    def test_port_published_on_loopback_only(self):
        with open(COMPOSE) as f:
            ports = re.findall(r'^\s*- "([^"]*:7150)"$', f.read(), re.M)
        self.assertTrue(ports)
        for p in ports:
            self.assertTrue(p.startswith("127.0.0.1:"), p)


class DockerfileTest(unittest.TestCase):

    def setUp(self):
        self.stages = dockerfile_stages()
        self.assertEqual(len(self.stages), 2, self.stages)
        self.build = self.stages[0][1]
        self.runtime_from, self.runtime = self.stages[1]

    def test_both_stages_on_bookworm_slim(self):
        self.assertEqual(self.stages[0][0], "debian:bookworm-slim AS build")
        self.assertEqual(self.runtime_from, "debian:bookworm-slim")

    def test_build_stage_runs_exactly_the_scripts(self):
        runs = [shlex.split(arg) for word, arg in self.build if word == "RUN"]
        scripts = [argv[0] for argv in runs if argv[0].startswith("scripts/")]
        self.assertEqual(scripts, ["scripts/deps.sh", "scripts/build.sh"])
        self.assertEqual(runs[0], ["scripts/deps.sh", "build"])
        for argv in runs:
            with self.subTest(argv):
                if argv[0].startswith("scripts/"):
                    self.assertTrue(os.access(os.path.join(ROOT, argv[0]), os.X_OK))
                else:
                    # Besides the scripts, only an install of what they built.
                    self.assertEqual(argv[:2], ["cmake", "--install"])

    def test_runtime_stage_holds_binaries_and_runtime_libraries_only(self):
        copies = [arg for word, arg in self.runtime if word == "COPY"]
        self.assertEqual(len(copies), 1, copies)
        args = copies[0].split()
        self.assertEqual(args[0], "--from=build")
        self.assertEqual(sorted(os.path.basename(a) for a in args[1:-1]),
                         ["smm-client", "smm-server"])
        for word, arg in self.runtime:
            if word == "RUN":
                self.assertNotRegex(arg, BUILD_WORDS)

    @unittest.skipIf(harness.SANITIZED, "sanitized binaries link the sanitizer runtimes")
    def test_runtime_packages_are_what_the_binaries_link(self):
        runs = " ".join(arg for word, arg in self.runtime if word == "RUN")
        m = re.search(r"apt-get install ((?:-\S+ )*)((?:[a-z0-9][a-z0-9.+-]+ ?)+)", runs)
        self.assertTrue(m, runs)
        installed = set(m.group(2).split())
        needed = set()
        for binary in (harness.SERVER, os.environ.get("SMM_CLIENT")):
            if binary:
                needed |= shared_library_packages(binary)
        self.assertEqual(installed, needed - BASE_PACKAGES)

    def test_runtime_settings(self):
        words = {}
        for word, arg in self.runtime:
            words.setdefault(word, []).append(arg)
        self.assertEqual(words["EXPOSE"], ["7150"])
        user = words["USER"][-1].split(":")[0]
        self.assertNotIn(user, ("root", "0"))
        self.assertRegex(" ".join(words["ENV"]), r"\bSMM_HOST=0\.0\.0\.0\b")
        self.assertRegex(words["HEALTHCHECK"][-1], r'CMD .*"smm-client", "ping"')
        self.assertEqual(words["ENTRYPOINT"], ['["smm-server"]'])

    def test_dockerignore_keeps_build_trees_and_secrets_out(self):
        with open(os.path.join(ROOT, ".dockerignore")) as f:
            patterns = {l.strip() for l in f if l.strip() and not l.startswith("#")}
        self.assertLessEqual({".git", "build*", "docker/.env"}, patterns)


class ImageTest(unittest.TestCase):
    """The image built and run for real, where podman can do it."""

    def test_image_builds_and_runs(self):
        missing = [why for why, bad in (
            ("podman is not installed", not shutil.which("podman")),
            ("image-check.sh is not at %s (set SMM_IMAGE_CHECK)" % IMAGE_CHECK,
             not os.path.isfile(IMAGE_CHECK)),
            ("image-check.sh needs root", os.geteuid() != 0)) if bad]
        if missing:
            # Loudly: this is the one check of what the image really holds.
            print("\n*** ops_docker: NOT building the image: %s; only the files were "
                  "checked ***" % "; ".join(missing), file=sys.stderr)
            self.skipTest("; ".join(missing))
        out = subprocess.run(["sh", IMAGE_CHECK], cwd=ROOT, capture_output=True, text=True,
                             timeout=840)
        self.assertEqual(out.returncode, 0, out.stdout[-3000:] + out.stderr[-3000:])
        self.assertIn("image-check: image builds; server runs as smm", out.stdout)


if __name__ == "__main__":
    unittest.main()
