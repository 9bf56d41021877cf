"""The command-line contract: -x/-c order, --bail, exit statuses, scripts
with source nesting, FILE:LINE errors, --help/--version, bad usage.
"""
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(__file__))
from k2tlib import K2T, ROOT, ok, done  # noqa: E402


def run(args, stdin=""):
    p = subprocess.run([K2T] + args, input=stdin, capture_output=True, text=True, cwd=ROOT, timeout=60,
                       env=dict(os.environ, HOME=tmp))
    return p.returncode, p.stdout, p.stderr


tmp = tempfile.mkdtemp()


def script(name, text):
    path = os.path.join(tmp, name)
    with open(path, "w") as f:
        f.write(text)
    return path


rc, out, err = run(["--version"])
ok(rc == 0 and out.startswith("k2t "), "--version: " + out.strip())
rc, out, err = run(["--help"])
ok(rc == 0 and "-x FILE" in out and "--bail" in out, "--help lists the options")
rc, out, err = run(["--nosuch"])
ok(rc == 2 and "--nosuch" in err, "unknown option: exit 2, named")
rc, out, err = run(["-x"])
ok(rc == 2, "-x without FILE: exit 2")

# -c and -x run in the order given; exit 0 when all succeed.
s1 = script("one.k2t", "echo from script\n")
rc, out, err = run(["--batch", "-c", "echo first", "-x", s1, "-c", "echo last"])
ok(rc == 0 and out == "first\nfrom script\nlast\n", "-c/-x run in order, exit 0", repr(out))

# A failing command: reported with FILE:LINE, the rest goes on, exit 1.
s2 = script("fail.k2t", "# comment\n\necho a\nnosuch\necho b\n")
rc, out, err = run(["--batch", "-x", s2])
ok(rc == 1 and out == "a\nb\n" and "%s:4: error: unknown command" % s2 in err, "error names FILE:LINE, script goes on",
   repr((out, err)))
# --bail stops at it.
rc, out, err = run(["--batch", "--bail", "-x", s2, "-c", "echo after"])
ok(rc == 1 and out == "a\n", "--bail stops at the first failing command", repr(out))
rc, out, err = run(["--bail", "-c", "nosuch", "-c", "echo after"])
ok(rc == 1 and "after" not in out, "--bail stops the remaining -c")

# source nests, errors name the inner file and line, depth is capped.
inner = script("inner.k2t", "echo inner\nbad_inner_command\n")
outer = script("outer.k2t", "echo outer\nsource %s\necho back\n" % inner)
rc, out, err = run(["--batch", "-x", outer])
ok(rc == 1 and out == "outer\ninner\nback\n" and "%s:2: error" % inner in err, "source nests; inner FILE:LINE",
   repr((out, err)))
loop = script("loop.k2t", "source %s\n" % os.path.join(tmp, "loop.k2t"))
rc, out, err = run(["--batch", "-x", loop])
ok(rc == 1 and "nesting" in err and err.count("error") < 40, "source recursion is capped with a clear error",
   err[:200])
rc, out, err = run(["--batch", "-c", "source /no/such.k2t", "-c", "echo goes on"])
ok(rc == 1 and "/no/such.k2t" in err and "goes on" in out, "a missing script is named; session goes on")

# quit inside a sourced script ends everything, exit status from errors so far.
q = script("quit.k2t", "echo before\nquit\necho never\n")
rc, out, err = run(["--batch", "-x", q, "-c", "echo never either"])
ok(rc == 0 and out == "before\n", "quit ends k2t", repr(out))

# stdin not a terminal: read as a script.
rc, out, err = run([], stdin="echo piped\nnosuch\necho more\n")
ok(rc == 1 and out == "piped\nmore\n", "commands from a pipe; exit 1 after an error", repr(out))

# Windows line endings and a last line without newline.
crlf = script("crlf.k2t", "echo one\r\necho two")
rc, out, err = run(["--batch", "-x", crlf])
ok(rc == 0 and out == "one\ntwo\n", "CRLF and a final line without newline", repr(out))

# A MODEL that cannot be loaded: named, exit 1 in batch form.
rc, out, err = run(["--batch", "-c", "echo x", "/no/such/model.h5"])
ok(rc == 1 and "/no/such/model.h5" in err, "unloadable MODEL exits 1, named")
done()
