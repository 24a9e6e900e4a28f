"""A temporary OpenLDAP server (Debian's slapd) for the LDAP login tests: its own cn=config
directory and database in a temporary folder, a free port on 127.0.0.1, StartTLS with a
self-signed certificate, and a small directory (people, groups, a service account) loaded with
slapadd before it starts; `modify` changes it while it runs (ldapmodify)."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from pathlib import Path

from .server import free_port

SUFFIX = "dc=uni,dc=example"
ADMIN_DN, ADMIN_PASSWORD = f"cn=admin,{SUFFIX}", "admin-secret"
PEOPLE, GROUPS = f"ou=people,{SUFFIX}", f"ou=groups,{SUFFIX}"
SERVICE_DN, SERVICE_PASSWORD = f"cn=assay,ou=services,{SUFFIX}", "service-secret"
SLAPD = "/usr/sbin/slapd"


def missing_tools() -> str | None:
    """What is missing to run slapd here, or None."""
    missing = [
        tool
        for tool in (SLAPD, "slapadd", "ldapmodify", "openssl")
        if not (Path(tool).exists() if tool.startswith("/") else shutil.which(tool))
    ]
    if not Path("/etc/ldap/schema/inetorgperson.ldif").exists():
        missing.append("/etc/ldap/schema (slapd's schemas)")
    if missing:
        return (
            f"the LDAP tests need Debian's slapd and ldap-utils ({', '.join(missing)} not "
            "found): run ./setup.sh"
        )
    return None


def _config(root: Path) -> str:
    return f"""\
dn: cn=config
objectClass: olcGlobal
cn: config
olcPidFile: {root}/slapd.pid
olcLogLevel: none
olcTLSCertificateFile: {root}/cert.pem
olcTLSCertificateKeyFile: {root}/key.pem

dn: cn=module{{0}},cn=config
objectClass: olcModuleList
cn: module{{0}}
olcModulePath: /usr/lib/ldap
olcModuleLoad: back_mdb

dn: cn=schema,cn=config
objectClass: olcSchemaConfig
cn: schema

include: file:///etc/ldap/schema/core.ldif
include: file:///etc/ldap/schema/cosine.ldif
include: file:///etc/ldap/schema/nis.ldif
include: file:///etc/ldap/schema/inetorgperson.ldif

dn: olcDatabase={{-1}}frontend,cn=config
objectClass: olcDatabaseConfig
objectClass: olcFrontendConfig
olcDatabase: {{-1}}frontend

dn: olcDatabase={{0}}config,cn=config
objectClass: olcDatabaseConfig
olcDatabase: {{0}}config
olcAccess: {{0}}to * by * none

dn: olcDatabase={{1}}mdb,cn=config
objectClass: olcDatabaseConfig
objectClass: olcMdbConfig
olcDatabase: {{1}}mdb
olcDbDirectory: {root}/data
olcDbMaxSize: 16777216
olcSuffix: {SUFFIX}
olcRootDN: {ADMIN_DN}
olcRootPW: {ADMIN_PASSWORD}
olcAccess: {{0}}to attrs=userPassword by anonymous auth by * none
olcAccess: {{1}}to * by users read by * none
"""


def _person(uid: str, given: str, family: str, password: str) -> str:
    return f"""\
dn: uid={uid},{PEOPLE}
objectClass: inetOrgPerson
uid: {uid}
cn: {given} {family}
givenName: {given}
sn: {family}
mail: {uid}@uni.example
userPassword: {password}
"""


def _group(name: str, *members: str) -> str:
    lines = "".join(f"member: uid={m},{PEOPLE}\n" for m in members)
    return f"dn: cn={name},{GROUPS}\nobjectClass: groupOfNames\ncn: {name}\n{lines}"


# Erin is a student in the directory, Frank administers assay (the group assay-admins), Gina
# is in the directory but in no group. Bob of the cast is not in the directory: his local
# account must go on working.
DIRECTORY = "\n".join(
    [
        f"dn: {SUFFIX}\nobjectClass: dcObject\nobjectClass: organization\no: Uni\ndc: uni\n",
        *(
            f"dn: ou={ou},{SUFFIX}\nobjectClass: organizationalUnit\nou: {ou}\n"
            for ou in ("people", "groups", "services")
        ),
        f"dn: {SERVICE_DN}\nobjectClass: simpleSecurityObject\nobjectClass: organizationalRole\n"
        f"cn: assay\nuserPassword: {SERVICE_PASSWORD}\n",
        _person("erin", "Erin", "Hopper", "erin-secret"),
        _person("frank", "Frank", "Allen", "frank-secret"),
        _person("gina", "Gina", "Rossi", "gina-secret"),
        _group("students", "erin", "frank"),
        _group("assay-admins", "frank"),
    ]
)


class Slapd:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.port = free_port()
        self.uri = f"ldap://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> Slapd:
        """1. a self-signed certificate for 127.0.0.1; 2. cn=config and the database, loaded
        offline with slapadd; 3. slapd in the foreground on the port, until it answers."""
        config, data = self.root / "slapd.d", self.root / "data"
        config.mkdir()
        data.mkdir()
        self.ca_file = self.root / "cert.pem"
        subprocess.run(
            ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
             "-keyout", str(self.root / "key.pem"), "-out", str(self.ca_file),
             "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"],
            check=True, capture_output=True,
        )  # fmt: skip
        (self.root / "config.ldif").write_text(_config(self.root))
        (self.root / "directory.ldif").write_text(DIRECTORY)
        for db, ldif in (("0", "config.ldif"), ("1", "directory.ldif")):
            subprocess.run(
                ["slapadd", "-q", "-F", str(config), "-n", db, "-l", str(self.root / ldif)],
                check=True, capture_output=True, text=True,
            )  # fmt: skip
        self.log = open(self.root / "slapd.log", "wb")  # noqa: SIM115
        self.proc = subprocess.Popen(
            [SLAPD, "-d", "0", "-F", str(config), "-h", self.uri + "/"],
            stdout=self.log, stderr=subprocess.STDOUT,
        )  # fmt: skip
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"slapd stopped: {(self.root / 'slapd.log').read_text()}")
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return self
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("slapd did not listen within 10 s")

    def modify(self, ldif: str) -> None:
        """Change the directory as its administrator would (ldapmodify)."""
        subprocess.run(
            ["ldapmodify", "-x", "-H", self.uri, "-D", ADMIN_DN, "-w", ADMIN_PASSWORD],
            input=ldif, check=True, capture_output=True, text=True,
        )  # fmt: skip

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait(timeout=10)
            self.log.close()
