# shellcheck shell=bash
# Finds the Python that runs embstore's Python tests (python/tests); sourced by ./run-tests and .ci/run.
#
# embstore_find_python takes $EMBSTORE_PYTHON when it is set (EMBSTORE_PYTHON=/usr/bin/python3 ./run-tests python runs
# the suite on Debian's numpy), else the first of the python3 on PATH and Debian's /usr/bin/python3 that imports numpy
# and pytest, and sets EMBSTORE_PYTHON to it; otherwise it prints what to install on stderr and returns 1. PATH's comes
# first so that a developer's interpreter (pyenv, a venv) is the one tested; Debian's is where apt installs
# python3-numpy and python3-pytest, so a machine where PATH's python3 lacks them still runs the suite.

# Succeeds if the interpreter $1 imports every module named after it.
embstore_python_has() {
  local python=$1
  shift
  [ -x "$python" ] || return 1
  "$python" -c "import sys, importlib; [importlib.import_module(m) for m in sys.argv[1:]]" "$@" >/dev/null 2>&1
}

# The candidates, in order of preference, one a line (PATH's python3 resolved to a path, then Debian's).
embstore_python_candidates() {
  local onpath
  onpath=$(command -v python3 2>/dev/null) && printf '%s\n' "$onpath"
  [ "$onpath" = /usr/bin/python3 ] || printf '%s\n' /usr/bin/python3
}

embstore_find_python() {
  local python seen=""
  if [ -n "${EMBSTORE_PYTHON:-}" ]; then
    EMBSTORE_PYTHON_GIVEN=yes
    embstore_python_has "$EMBSTORE_PYTHON" numpy pytest && return 0
    echo "EMBSTORE_PYTHON=$EMBSTORE_PYTHON cannot import numpy and pytest (or is not an executable)." >&2
    return 1
  fi
  while IFS= read -r python; do
    if embstore_python_has "$python" numpy pytest; then
      EMBSTORE_PYTHON=$python
      export EMBSTORE_PYTHON
      return 0
    fi
    [ -x "$python" ] && seen="$seen $python"
  done < <(embstore_python_candidates)
  {
    echo "embstore's Python tests need a python3 with numpy and pytest; none was found."
    echo "  looked at:${seen:- (no python3 at all)}"
    echo "Install them, for example:"
    echo "  Debian/Ubuntu: apt-get install python3-numpy python3-pytest"
    echo "  any Python:    python3 -m pip install numpy pytest"
  } >&2
  return 1
}

# Every interpreter the suite runs with, one a line: $EMBSTORE_PYTHON alone when it is set, else each candidate that
# imports numpy and pytest (PATH's and Debian's are often different Pythons with different numpy: 2.x from pip, 1.24
# from apt; the package supports both). Fails like embstore_find_python when there is none.
embstore_find_pythons() {
  local python real seen_real=" "
  embstore_find_python || return 1
  if [ -n "${EMBSTORE_PYTHON_GIVEN:-}" ]; then
    printf '%s\n' "$EMBSTORE_PYTHON"
    return 0
  fi
  while IFS= read -r python; do
    embstore_python_has "$python" numpy pytest || continue
    real=$("$python" -c 'import os, sys; print(os.path.realpath(sys.executable))' 2>/dev/null) || continue
    case $seen_real in *" $real "*) continue ;; esac
    seen_real="$seen_real$real "
    printf '%s\n' "$python"
  done < <(embstore_python_candidates)
}
