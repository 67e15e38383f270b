# JVM options and classpath shared by the benchmark scripts, sourced after the Maven build (Spark on Java 17 needs
# the opens; DJL stays offline).
export DJL_CACHE_DIR="${DJL_CACHE_DIR:-$ROOT/target/djl-cache}"
export SPARK_LOCAL_IP=127.0.0.1
mapfile -t JVM_OPTIONS < <(grep -v '^#' "$ROOT/conf/jvm.options")
BENCH_JAVA_OPTS=(-Xmx6g -Dai.djl.offline=true -Dlog4j2.configurationFile="$ROOT/conf/log4j2.properties"
  "${JVM_OPTIONS[@]}")
BENCH_CP="$ROOT/bench/target/imgvec-bench-0.1.0-SNAPSHOT.jar:$(cat "$ROOT/bench/target/classpath.txt")"
