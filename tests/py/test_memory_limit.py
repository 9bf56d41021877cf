#!/usr/bin/python3
"""set memory.limit (issue 14): the budget of a load's child and of one run plan.

A run over the limit is an error that names what the batch needs and the limit, and the session goes
on; eval, which streams micro-batches, still works under a small limit and gives the same accuracy;
bad values are refused with the accepted forms; $K2T_MEMORY_LIMIT sets the default."""
import os
import re
import subprocess
import sys

sys.path.insert(0, os.path.dirname(__file__))
from k2tlib import K2T, MODELS, SHARED, done, k2t, ok, skip  # noqa: E402

rc, out, err = k2t("show memory.limit")
m = re.search(r"memory.limit = (\d+) MB \(default\)", out)
ok(rc == 0 and m is not None and int(m.group(1)) >= 1024, "show memory.limit: the default, at least 1024 MB", out + err)

for bad in ("1", "-5", "lots", "4X", "nan", "1e12"):
    rc, out, err = k2t("set memory.limit " + bad, "echo alive")
    ok(rc == 1 and "memory.limit" in err and "'%s'" % bad in err and "alive" in out,
       "set memory.limit %s is refused, naming the value" % bad, err)

rc, out, err = k2t("set memory.limit 512M", "show memory.limit", "set memory.limit 2G", "show memory.limit",
                   "set memory.limit default", "show memory.limit")
lines = [l for l in out.splitlines() if l.startswith("memory.limit")]
ok(rc == 0 and len(lines) == 3 and lines[0] == "memory.limit = 512 MB" and lines[1] == "memory.limit = 2048 MB"
   and lines[2].endswith("(default)"), "units M and G, and 'default'", out + err)

env = dict(os.environ, K2T_MEMORY_LIMIT="3000")
p = subprocess.run([K2T, "--batch", "--no-init", "-c", "show memory.limit"], capture_output=True, text=True, env=env)
ok("memory.limit = 3000 MB (default)" in p.stdout, "$K2T_MEMORY_LIMIT sets the default", p.stdout + p.stderr)

res = os.path.join(MODELS, "pretrainedResnet.h5")
cifar = os.path.join(SHARED, "data", "cifar10-ic200.bin")
if not (os.path.exists(res) and os.path.exists(cifar)):
    skip("memory.limit on the ResNet8", "%s or %s is missing" % (res, cifar))
    done()
rc, out, err = k2t("set memory.limit 16", "load " + res, "input cifar " + cifar, "run", "echo alive",
                   "eval cifar " + cifar, "set memory.limit default", "run")
m = re.search(r"run: a batch of 200 needs (\d+) MB, over the memory limit of 16 MB \(set memory.limit\)", err)
ok(m is not None and int(m.group(1)) > 16, "run over the limit: the error names the need and the limit", err)
ok("alive" in out, "the session goes on after it")
ok("accuracy: 171/200" in out, "eval streams micro-batches: 171/200 under a 16 MB limit", out[-400:])
ok(out.count("ran 30 layers on 200 samples") == 1, "with the default limit again, the same run succeeds", out[-300:])
done()
