"""`make install` into a DESTDIR: the module, the C API's header, Debian's
mods-available files (backgrounder.load, backgrounder.conf) and the annotated
example, and every file the mods-available files name is among what was
installed (the example's jobs name the operator's programs: not checked)."""

import os
import re
import subprocess
import tempfile
import shutil

from conftest import BUILDDIR, MODULES_DIR

PATH_RE = re.compile(r"(?<![\w.:/])(/[\w.+-]+(?:/[\w.+-]+)+)")


def make_var(name):
    """A variable of the build's Makefile, expanded by make itself."""
    r = subprocess.run(["make", "-s", "-C", BUILDDIR, "--no-print-directory", "-f", "Makefile", "-f", "-",
                        "print-var"], input="print-var:\n\t@echo $(%s)\n" % name, stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, text=True, timeout=60)
    assert r.returncode == 0, r.stdout
    return r.stdout.strip()


def referenced_paths(text):
    """Absolute paths a configuration file refers to, except on commented-out
    directives (`#BackgrounderJob ... run="/usr/local/bin/..."`), which are
    examples for the operator, not files of the package."""
    paths = []
    for line in text.splitlines():
        stripped = line.strip()
        if re.match(r"#\s*(Backgrounder|LoadModule)\w*\s", stripped):
            continue
        paths += PATH_RE.findall(line)
    return paths


def test_make_install_installs_what_the_conf_files_name():
    destdir = tempfile.mkdtemp(prefix="bgit-install-", dir="/tmp")
    try:
        r = subprocess.run(["make", "-s", "-C", BUILDDIR, "install", "DESTDIR=%s" % destdir],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=600)
        assert r.returncode == 0, r.stdout[-3000:]
        installed = set()
        for top, _, files in os.walk(destdir):
            installed.update("/" + os.path.relpath(os.path.join(top, f), destdir) for f in files)
        confdir, docdir, moddir = make_var("confdir"), make_var("docdir"), make_var("moddir")
        assert moddir == MODULES_DIR or os.path.isabs(moddir), moddir
        for want in (os.path.join(moddir, "mod_backgrounder.so"),
                     os.path.join(make_var("apiincludedir"), "mod_backgrounder.h"),
                     os.path.join(confdir, "backgrounder.load"), os.path.join(confdir, "backgrounder.conf"),
                     os.path.join(docdir, "backgrounder-example.conf")):
            assert want in installed, "%s not installed: %s" % (want, sorted(installed))
        assert os.path.join(moddir, "mod_backgrounder.la") not in installed
        # Every path the installed mods-available files name is installed.
        conf_files = sorted(p for p in installed if p.startswith(confdir + "/"))
        assert len(conf_files) == 2, conf_files
        named = {}
        for path in conf_files:
            with open(destdir + path) as f:
                for ref in referenced_paths(f.read()):
                    named.setdefault(ref, path)
        assert os.path.join(moddir, "mod_backgrounder.so") in named, named
        assert os.path.join(docdir, "backgrounder-example.conf") in named, named
        missing = {ref: by for ref, by in named.items() if ref not in installed}
        assert not missing, "named by the installed configuration but not installed: %s" % missing
        # Nothing of the templates is left.
        for path in conf_files:
            with open(destdir + path) as f:
                text = f.read()
            assert "@moddir@" not in text and "@docdir@" not in text, text
    finally:
        shutil.rmtree(destdir, ignore_errors=True)
