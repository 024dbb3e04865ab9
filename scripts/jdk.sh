# shellcheck shell=bash
# Finds a JDK for embstore; sourced by ./embstore and ./run-tests.
#
# embstore needs java.lang.foreign (final since JDK 22); it is built for and tested on JDK 25.
# embstore_find_jdk looks, in order, at $JAVA_HOME, at every /usr/lib/jvm/*/bin/java (the newest wins) and at the
# java on PATH, and takes the first JDK (java and javac) of version 22 or newer. It then sets JAVA_HOME and
# EMBSTORE_JDK_MAJOR, or prints what to install on stderr and returns 1.

EMBSTORE_MIN_JDK=22

# The major version of the java binary $1 (8 for "1.8.0_392", 25 for "25.0.1" or "25-ea"), or nothing.
embstore_java_major() {
  local out version
  out=$("$1" -version 2>&1) || return 1
  version=$(printf '%s\n' "$out" | sed -n 's/^[^"]* version "\([^"]*\)".*/\1/p' | head -n 1)
  [ -n "$version" ] || return 1
  case $version in 1.*) version=${version#1.} ;; esac
  version=${version%%[!0-9]*}
  [ -n "$version" ] || return 1
  printf '%s\n' "$version"
}

# Succeeds if $1 is a JDK home (java and javac) of version >= EMBSTORE_MIN_JDK; prints its major version.
embstore_jdk_major() {
  local home=$1 major
  [ -x "$home/bin/java" ] && [ -x "$home/bin/javac" ] || return 1
  major=$(embstore_java_major "$home/bin/java") || return 1
  [ "$major" -ge "$EMBSTORE_MIN_JDK" ] 2>/dev/null || return 1
  printf '%s\n' "$major"
}

embstore_find_jdk() {
  local major home best_home="" best_major=0 seen=""
  if [ -n "${JAVA_HOME:-}" ] && major=$(embstore_jdk_major "$JAVA_HOME"); then
    EMBSTORE_JDK_MAJOR=$major
    export JAVA_HOME EMBSTORE_JDK_MAJOR
    return 0
  fi
  for java in /usr/lib/jvm/*/bin/java; do
    [ -x "$java" ] || continue
    home=${java%/bin/java}
    if major=$(embstore_jdk_major "$home"); then
      if [ "$major" -gt "$best_major" ]; then
        best_major=$major
        best_home=$home
      fi
    else
      seen="$seen ${home##*/}"
    fi
  done
  if [ -z "$best_home" ] && command -v java >/dev/null 2>&1; then
    home=$(readlink -f "$(command -v java)")
    home=${home%/bin/java}
    if major=$(embstore_jdk_major "$home"); then
      best_major=$major
      best_home=$home
    else
      seen="$seen $home"
    fi
  fi
  if [ -n "$best_home" ]; then
    JAVA_HOME=$best_home
    EMBSTORE_JDK_MAJOR=$best_major
    export JAVA_HOME EMBSTORE_JDK_MAJOR
    return 0
  fi
  {
    echo "embstore needs a JDK $EMBSTORE_MIN_JDK or newer (JDK 25 recommended), with javac; none was found."
    echo "  looked at: JAVA_HOME=${JAVA_HOME:-(unset)}, /usr/lib/jvm/*, the java on PATH"
    [ -n "$seen" ] && echo "  too old or not a JDK:$seen"
    echo "Install one, for example:"
    echo "  Debian/Ubuntu: apt-get install openjdk-25-jdk   (or temurin-25-jdk from the Adoptium apt repository)"
    echo "  Fedora/RHEL:   dnf install java-25-openjdk-devel"
    echo "  macOS:         brew install openjdk@25"
    echo "or point JAVA_HOME at a JDK $EMBSTORE_MIN_JDK+."
  } >&2
  return 1
}

# Maven, or what to install.
embstore_require_maven() {
  command -v mvn >/dev/null 2>&1 && return 0
  echo "embstore is built with Apache Maven, which is not installed: apt-get install maven (or brew install maven), then run this again." >&2
  return 1
}

# MAVEN_OPTS for the JDK found: on JDK 23+ Maven's own use of sun.misc.Unsafe prints a warning unless allowed.
embstore_maven_opts() {
  if [ "${EMBSTORE_JDK_MAJOR:-0}" -ge 23 ]; then
    case " ${MAVEN_OPTS:-} " in
      *" --sun-misc-unsafe-memory-access="*) ;;
      *) MAVEN_OPTS="${MAVEN_OPTS:+$MAVEN_OPTS }--sun-misc-unsafe-memory-access=allow" ;;
    esac
  fi
  export MAVEN_OPTS="${MAVEN_OPTS:-}"
}
