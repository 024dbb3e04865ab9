# shellcheck shell=bash
# Finds a JDK for embstore; sourced by ./embstore and ./run-tests.
#
# embstore is compiled for JDK 25 (maven.compiler.release in pom.xml: the FFM API, final since 22, plus the JDK 25
# language level and AOT cache); LauncherScriptTest checks that this minimum and the pom agree.
# embstore_find_jdk looks, in order, at $JAVA_HOME, at every /usr/lib/jvm/*/bin/java (the newest wins) and at the
# java on PATH, and takes the first JDK (java and javac) of version 25 or newer. It then sets JAVA_HOME and
# EMBSTORE_JDK_MAJOR, or prints what to install on stderr and returns 1.

EMBSTORE_MIN_JDK=25

# The major version in a version string (8 for "1.8.0_392", 25 for "25.0.1" or "25-ea"), or nothing.
embstore_major_of() {
  local version=$1
  case $version in 1.*) version=${version#1.} ;; esac
  version=${version%%[!0-9]*}
  [ -n "$version" ] || return 1
  printf '%s\n' "$version"
}

# The major version of the java binary $1, or nothing.
embstore_java_major() {
  local out version
  out=$("$1" -version 2>&1) || return 1
  version=$(printf '%s\n' "$out" | sed -n 's/^[^"]* version "\([^"]*\)".*/\1/p' | head -n 1)
  embstore_major_of "$version"
}

# The major version of the JDK home $1 from its release file (JAVA_VERSION="25.0.1"), which every JDK since 9 has;
# read with bash alone, as this runs before every command: java -version starts a JVM per JDK looked at, which took
# 0.5 to 1 s of the launcher's time on a loaded machine with four JDKs installed.
embstore_release_major() {
  local line
  [ -f "$1/release" ] || return 1
  while IFS= read -r line || [ -n "$line" ]; do
    case $line in
      JAVA_VERSION=*) line=${line#JAVA_VERSION=}; line=${line#\"}; embstore_major_of "${line%%\"*}"; return ;;
    esac
  done <"$1/release"
  return 1
}

# Succeeds if $1 is a JDK home (java and javac) of version >= EMBSTORE_MIN_JDK; prints its major version. The release
# file says which version; a home without one is asked with java -version.
embstore_jdk_major() {
  local home=$1 major
  [ -x "$home/bin/java" ] && [ -x "$home/bin/javac" ] || return 1
  major=$(embstore_release_major "$home") || major=$(embstore_java_major "$home/bin/java") || return 1
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
    echo "embstore needs a JDK $EMBSTORE_MIN_JDK or newer, with javac; none was found."
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

# JDK 25's AOT cache (JEPs 483, 514, 515): classes of the jar already parsed, linked and loaded, and method profiles,
# recorded once from a training run and mapped at every start. It takes a second or more off a short command (see
# benchmarks/results/classifier.md). embstore_aot JAR sets the array EMBSTORE_AOT_FLAGS: the flags that use the cache
# next to the jar (JAR with .aot for .jar), recording it first when it is missing, older than the jar or recorded by
# another JDK; empty (the JVM starts as usual) on a JDK older than 25, with EMBSTORE_AOT=0, or when recording failed
# (which is then not retried until the jar changes). A cache the JVM rejects anyway (a JDK updated in place, a copied
# jar) costs nothing but the gain: the JVM's complaint is silenced and it starts without the cache.
embstore_aot() {
  local jar=$1 cache=${1%.jar}.aot
  EMBSTORE_AOT_FLAGS=()
  [ "${EMBSTORE_AOT:-1}" != 0 ] || return 0
  [ "${EMBSTORE_JDK_MAJOR:-0}" -ge 25 ] 2>/dev/null || return 0
  if ! embstore_aot_current "$jar" "$cache" "$cache"; then
    # A failure recorded for this jar and JDK: start without a cache rather than retry on every run.
    embstore_aot_current "$jar" "$cache.failed" "$cache.failed" && return 0
    embstore_aot_record "$jar" "$cache" || return 0
  fi
  EMBSTORE_AOT_FLAGS=(-XX:AOTCache="$cache" -Xlog:aot=off -Xlog:cds=off)
}

# Whether FILE ($2) is newer than the jar and its .jdk note ($3.jdk) names this JAVA_HOME.
embstore_aot_current() {
  [ -f "$2" ] && [ "$2" -nt "$1" ] && [ "$(cat "$3.jdk" 2>/dev/null)" = "$JAVA_HOME" ]
}

# Records the cache from a training run: train-classifier (with held-out scoring) on a small generated file, which
# goes through picocli, the text reader, the store's create and open, and the trainer. The cache is written beside
# its final name and renamed into place, so a concurrent start sees the old one or the new one; it reads nothing of
# the standard input, which belongs to the command that follows.
embstore_aot_record() {
  local jar=$1 cache=$2 work status=0
  [ -w "$(dirname "$cache")" ] || return 1 # a read-only build: start without a cache, quietly
  echo "embstore: recording the JVM's startup cache for this build (once; EMBSTORE_AOT=0 skips it)..." >&2
  work=$(mktemp -d "${TMPDIR:-/tmp}/embstore-aot.XXXXXX") || return 1
  embstore_aot_workload >"$work/train.txt"
  (cd "$work" && "$JAVA_HOME/bin/java" -XX:AOTCacheOutput="$cache.$$.tmp" -XX:+UseSerialGC --enable-native-access=ALL-UNNAMED \
      -jar "$jar" train-classifier --train train.txt --dev train.txt --model model --ngrams 2 --buckets 4096 \
      --quiet) </dev/null >/dev/null 2>&1 && [ -s "$cache.$$.tmp" ] || status=1
  rm -rf "$work"
  if [ "$status" = 0 ]; then
    printf '%s\n' "$JAVA_HOME" >"$cache.jdk" && mv -f "$cache.$$.tmp" "$cache" && rm -f "$cache.failed" && return 0
  fi
  rm -f "$cache.$$.tmp"
  echo "embstore: could not record the startup cache; starting without it" >&2
  printf '%s\n' "$JAVA_HOME" >"$cache.failed.jdk" 2>/dev/null && : >"$cache.failed" 2>/dev/null
  return 1
}

# A small labelled text for the training run: 2,000 lines of 12 words drawn from 400, labelled by the words they hold.
embstore_aot_workload() {
  awk 'BEGIN {
    s = 12345
    for (i = 0; i < 2000; i++) {
      line = ""; score = 0
      for (j = 0; j < 12; j++) {
        s = (s * 1103515245 + 12345) % 2147483648
        w = int(s / 65536) % 400
        score += (w < 200) ? 1 : -1
        line = line " w" w
      }
      print (score >= 0 ? "__label__a" : "__label__b") line
    }
  }'
}
