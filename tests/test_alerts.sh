#!/bin/sh
# The Grafana dashboard and the Prometheus alerting rules (deploy/grafana/mpo-dashboard.json,
# deploy/alerts.yml) stay true to the code: the rules pass `promtool check rules`, the dashboard is
# valid JSON with a query in every panel, and every mpo_* metric either names is one the replay
# server or the learner serves (their stats tables). `make test-deploy` then evaluates every query
# against a live cluster's Prometheus.
set -u
cd "$(dirname "$0")/.." || exit 1
fail=0
if command -v promtool >/dev/null 2>&1; then
    promtool check rules deploy/alerts.yml >/tmp/mpo-alerts-check.$$ 2>&1 ||
        { echo "FAIL: promtool check rules deploy/alerts.yml"; cat /tmp/mpo-alerts-check.$$; fail=1; }
    rm -f /tmp/mpo-alerts-check.$$
else
    echo "note: promtool not installed, rules syntax not checked"
fi
python3 - <<'PY' || fail=1
import json, re, sys
names = set()
def table(path, prefix):
    for m in re.finditer(r'^\s*X\((\w+),', open(path).read(), re.M):
        names.add(prefix + m.group(1))
table("replay/replay_stats.h", "mpo_replay_")
table("learner/learner_stats.h", "mpo_learner_")
table("learner/mpo.h", "mpo_learner_")
for m in re.finditer(r'"(mpo_replay_actor_\w+)"', open("replay/replay_report.c").read()):
    names.add(m.group(1))
dash = json.load(open("deploy/grafana/mpo-dashboard.json"))
exprs = []
for p in dash["panels"]:
    if not p.get("targets") or not all(t.get("expr") for t in p["targets"]):
        print("FAIL: dashboard panel '%s' has no query" % p.get("title")); sys.exit(1)
    exprs += [t["expr"] for t in p["targets"]]
rules = open("deploy/alerts.yml").read()
exprs += re.findall(r'^\s+(?:expr|value): (.*)$', rules, re.M)
bad = sorted({n for e in exprs for n in re.findall(r'\bmpo_\w+', e)} - names)
if bad:
    print("FAIL: metrics no role serves: " + ", ".join(bad)); sys.exit(1)
print("dashboard and alerts: %d panels, %d queries, every metric served" % (len(dash["panels"]), len(exprs)))
PY
exit $fail
