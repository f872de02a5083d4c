#!/usr/bin/env bash
# What the image holds, shown without a container engine: the build stage's own RUN
# lines, read from the Dockerfile, run here against a copy of the build context
# (the files .dockerignore lets in) with /opt/companion and /wheels moved into a
# temporary folder; then the runtime stage's commands, run from that venv made
# read-only: `companion --help`, and `companion serve` answering /health.
#
# Not shown by it: the base image itself (this machine's Python stands in for
# python:3.11.x-slim-bookworm), the non-root user, the volume and HEALTHCHECK.
#
#   scripts/image-contents.sh            # PYTHON=python3.11 to pick the interpreter
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
python=${PYTHON:-python3}
work=$(mktemp -d)
server=""
cleanup() {
    if [[ -n $server ]]; then kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; fi
    chmod -R u+w "$work" 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT

# The build context.
mkdir -p "$work/context" "$work/bin" "$work/home" "$work/data"
cp -r "$root/requirements.lock" "$root/pyproject.toml" "$root/README.md" \
    "$root/src" "$root/projections" "$work/context/"
find "$work/context" -name __pycache__ -type d -prune -exec rm -rf {} +
ln -s "$(command -v "$python")" "$work/bin/python"

# The build stage's RUN lines, continuation lines joined.
mapfile -t steps < <("$python" - "$root/Dockerfile" <<'PY'
import re, sys
text = re.sub(r"\\\n\s*", " ", open(sys.argv[1]).read())
stage = None
for line in text.splitlines():
    line = line.strip()
    if line.startswith("FROM "):
        stage = line.split(" AS ")[-1]
    elif stage == "build" and line.startswith("RUN "):
        print(line[4:])
PY
)
[[ ${#steps[@]} -ge 3 ]] || { echo "found ${#steps[@]} build steps in the Dockerfile" >&2; exit 1; }

export PIP_DISABLE_PIP_VERSION_CHECK=1 PYTHONDONTWRITEBYTECODE=1
cd "$work/context"
for step in "${steps[@]}"; do
    step=${step//\/opt\/companion/$work/opt/companion}
    step=${step//\/wheels/$work/wheels}
    echo "+ $step"
    PATH="$work/bin:$PATH" bash -euo pipefail -c "$step" >"$work/step.log" 2>&1 \
        || { cat "$work/step.log"; exit 1; }
done

venv=$work/opt/companion
for tool in pip setuptools wheel; do
    if "$venv/bin/python" -c "import $tool" 2>/dev/null; then
        echo "the final venv still holds $tool" >&2
        exit 1
    fi
done
echo "venv: $(du -sh "$venv" | cut -f1), $(ls "$venv/lib/python3.11/site-packages" | wc -l) entries in site-packages, no pip/setuptools/wheel"
chmod -R a-w "$venv"

# The runtime stage: ENTRYPOINT companion, from the read-only venv, nothing else on PATH.
run() {
    env -i PATH="$venv/bin:/usr/bin:/bin" HOME="$work/home" PYTHONDONTWRITEBYTECODE=1 \
        PYTHONUNBUFFERED=1 COMPANION_DATA_DIR="$work/data" COMPANION_LOG_FORMAT=json "$@"
}
cd "$work/home"
run companion --help >/dev/null
echo "companion --help: ok"

port=$("$python" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
run companion serve --host 127.0.0.1 --port "$port" >"$work/serve.log" 2>&1 &
server=$!
for _ in $(seq 1 150); do
    if run python -c "import sys, urllib.request; sys.exit(urllib.request.urlopen('http://127.0.0.1:$port/health', timeout=2).status != 200)" 2>/dev/null; then
        echo "companion serve: /health 200 on port $port"
        kill "$server"
        wait "$server" 2>/dev/null || true
        server=""
        # A one-off job of the same image, on the store the server just created.
        run companion projections status >"$work/status.log" 2>&1 \
            || { cat "$work/status.log" >&2; exit 1; }
        echo "companion projections status: ok"
        exit 0
    fi
    if ! kill -0 "$server" 2>/dev/null; then
        cat "$work/serve.log" >&2
        exit 1
    fi
    sleep 0.2
done
cat "$work/serve.log" >&2
echo "companion serve did not answer /health within 30 s" >&2
exit 1
