#!/usr/bin/env bash
# The candidate kit as a candidate and their CI would use it: build a throwaway repository with
# `worksample kit`, then run the GitHub Actions workflow's steps in order (all but installing
# worksample, which is the binary under test here) with the Python starter, and check the three
# report files, the job summary and the annotations. The GitLab definition is parsed and its
# script must be the same `worksample check` command.
# Usage: kit-python.sh WORKSAMPLE_BINARY PYTHON_WITH_PYDICOM
set -euo pipefail
bin=$(realpath "$1")
py=$(realpath -s "$2")
"$py" -m pip install --quiet --disable-pip-version-check 'pyyaml>=6'
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
repo="$tmp/repo"
"$bin" kit --out "$repo" series

# The candidate's shell: the venv's python first, worksample on PATH as the install step would leave it.
mkdir -p "$tmp/bin"
ln -s "$bin" "$tmp/bin/worksample"
export PATH="$tmp/bin:$(dirname "$py"):$PATH"
export GITHUB_STEP_SUMMARY="$tmp/summary.md"
: > "$GITHUB_STEP_SUMMARY"

"$py" - "$repo" "$tmp/steps.sh" <<'PY'
import shlex, sys, yaml
repo, out = sys.argv[1], sys.argv[2]
gh = yaml.safe_load(open(f"{repo}/.github/workflows/worksample.yml"))
assert True in gh or "on" in gh, "workflow has triggers"
triggers = gh.get(True, gh.get("on"))
assert "pull_request" in triggers and "pull_request_target" not in triggers, triggers
assert gh["permissions"] == {"contents": "read"}, gh["permissions"]
job = gh["jobs"]["check"]
lines = ["set -euo pipefail", "cd " + shlex.quote(repo)]
for key, value in job["env"].items():
    # ${{ vars.X || 'd' }} evaluates to its default outside GitHub.
    default = value.split("||")[1].strip(" '}") if "||" in value else ""
    lines.append(f"export {key}=" + shlex.quote(default))
runs = []
for step in job["steps"]:
    if "run" not in step:
        assert step["uses"].startswith("actions/"), step
        continue
    if step.get("id") == "install-worksample":
        continue
    runs.append(step["run"])
    lines.append("echo " + shlex.quote("== " + step["name"]))
    lines.append(step["run"] + " | tee -a \"$GITHUB_STEP_SUMMARY.log\"" if "worksample check" in step["run"] else step["run"])
assert any("worksample check" in r for r in runs), runs
gl = yaml.safe_load(open(f"{repo}/.gitlab-ci.yml"))
script = gl["worksample"]["script"]
assert [s.replace('"$WORKSAMPLE_FAIL_UNDER"', "X") for s in script] == \
    [r.replace('"$WORKSAMPLE_FAIL_UNDER"', "X") for r in runs if "worksample check" in r], (script, runs)
assert gl["worksample"]["artifacts"]["reports"]["junit"] == "worksample-reports/junit.xml"
open(out, "w").write("\n".join(lines) + "\n")
PY
bash "$tmp/steps.sh"

"$py" - "$repo" "$GITHUB_STEP_SUMMARY" <<'PY'
import json, sys, xml.etree.ElementTree as ET
repo, summary = sys.argv[1], sys.argv[2]
reports = json.load(open(f"{repo}/worksample-reports/report.json"))
assert [r["task"]["id"] for r in reports] == ["series"], reports
r = reports[0]
assert r["run"]["status"] == "completed" and r["run"]["exit_code"] == 0, r["run"]
assert 20 <= r["total"]["percent"] < 80, r["total"]
root = ET.parse(f"{repo}/worksample-reports/junit.xml").getroot()
assert root.tag == "testsuites" and int(root.get("tests")) >= 7, root.attrib
md = open(f"{repo}/worksample-reports/report.md").read()
assert "series" in md and "|" in md
text = open(summary).read()
assert text.strip() and "series" in text, "job summary written"
log = open(summary + ".log").read().splitlines()
notes = [l for l in log if l.startswith("::")]
assert 1 <= len(notes) <= 10, notes
assert all(l.startswith(("::error ", "::warning ")) for l in notes), notes
print(f"kit: starter scored {r['total']['percent']}%, {len(notes)} annotations, summary {len(text)} bytes")
PY

# The record CI keeps is what an assessor compares: `cohort` reads check's report.json as it is.
rows=$(worksample cohort --format csv "$repo/worksample-reports/report.json" | tail -n +2 | wc -l)
[[ "$rows" == 1 ]] || { echo "kit: cohort of check's report.json gave $rows rows" >&2; exit 1; }

# The Rust starter, switched on as the kit's README says (its commented `command` line in
# worksample.toml), is built by the kit's build-solutions.sh, the step both CI files run before
# `check` (offline here, from the crates the workspace already fetched), and `check` grades it
# like the Python one: both are the same naive solution.
"$py" - "$repo/worksample.toml" <<'PY'
import re, sys
path = sys.argv[1]
text = open(path).read()
text, n = re.subn(r'^command = \["python3".*\n# Or the Rust starter.*\n# (command = .*)$', r'\1', text, flags=re.M)
assert n == 1, text
open(path, "w").write(text)
PY
(cd "$repo" && CARGO_NET_OFFLINE=true bash build-solutions.sh)
(cd "$repo" && worksample check --out rust-reports >/dev/null)
"$py" - "$repo/worksample-reports/report.json" "$repo/rust-reports/report.json" <<'PY'
import json, sys
py = json.load(open(sys.argv[1]))[0]
rs = json.load(open(sys.argv[2]))[0]
assert not rs["notes"], rs["notes"]
assert rs["run"]["status"] == "completed" and rs["run"]["exit_code"] == 0, rs["run"]
assert abs(py["total"]["percent"] - rs["total"]["percent"]) < 1e-9, (py["total"], rs["total"])
print(f"kit: the Rust starter, built by build-solutions.sh, scores {rs['total']['percent']}% like the Python one")
PY
