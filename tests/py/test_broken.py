"""Broken files: each gives one clear error naming the file and the layer or
weight at fault, exit status 1, no crash; the session goes on after it.
"""
import os
import sys

sys.path.insert(0, os.path.dirname(__file__))
from k2tlib import FIXTURES, k2t, ok, done  # noqa: E402

bdir = os.path.join(FIXTURES, "broken")
cases = [l.rstrip("\n").split("\t") for l in open(os.path.join(bdir, "broken.tsv")) if l.strip()]
ok(len(cases) >= 15, "the broken corpus has %d files" % len(cases))
for f, want in cases:
    path = os.path.join(bdir, f)
    rc, out, err = k2t("load %s" % path, "echo session goes on")
    errs = [l for l in err.splitlines() if "error:" in l]
    # Only a real cycle may be called one (a bad index is not a cycle).
    misnamed = f != "cycle.h5" and errs and "cycle" in errs[0]
    ok(rc == 1 and len(errs) == 1 and want in errs[0] and path in errs[0] and
       "session goes on" in out and not misnamed,
       "%s: %s" % (f, errs[0].split("error: ", 1)[-1] if errs else "no error"),
       "rc=%d stderr=%r" % (rc, err.strip()[:300]))

# A missing file is named, with the system's reason.
rc, out, err = k2t("load /nonexistent/model.h5")
ok(rc == 1 and "/nonexistent/model.h5" in err and "No such file" in err, "missing file: " + err.strip())

# The model on the command line that fails to load: exit 1 in batch form,
# before any -c runs.
rc, out, err = k2t("echo not reached", model=os.path.join(bdir, "not_hdf5.h5"))
ok(rc == 1 and "not reached" not in out and "not_hdf5.h5" in err, "unloadable MODEL argument exits 1")

# Commands that need a model say so, and the next command still runs.
rc, out, err = k2t("summary", "stats all", "echo after")
ok(rc == 1 and err.count("no model loaded") == 2 and "after" in out, "commands without a model: clear error, session goes on")
done()
