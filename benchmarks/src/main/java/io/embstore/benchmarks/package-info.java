/**
 * JMH benchmarks of the store, each with a baseline measured in the same class (a JDK structure or the hardware limit
 * for the same access pattern), so that noisy shared machines still give meaningful ratios.
 *
 * <ul>
 *   <li>{@link io.embstore.benchmarks.OpenBenchmark}: opening and closing a read-only store, against a raw
 *       {@code FileChannel.map} of its matrix file; {@link io.embstore.benchmarks.OpenFootprint} measures the heap a
 *       store keeps while open.</li>
 *   <li>{@link io.embstore.benchmarks.GatherBenchmark}: {@code gather} of 4096 random rows, against a heap
 *       {@code float[]} table, a random off-heap row gather and {@code memcpy} bandwidth.</li>
 *   <li>{@link io.embstore.benchmarks.WordLookupBenchmark}: {@code rowOf(word)} and batched {@code rowsOf}, against a
 *       {@code HashMap}.</li>
 *   <li>{@link io.embstore.benchmarks.SimilarityBenchmark}: one and eight {@code mostSimilar} queries over 400 000 x 300,
 *       SIMD and scalar kernels, f32 and f16, against a scalar dot loop over a heap {@code float[]}.</li>
 *   <li>{@link io.embstore.benchmarks.ParseBenchmark} and {@code ParseExactness}: the converter's float parser against
 *       {@code Float.parseFloat}, fastdoubleparser and chronicle-bytes, for speed and exactness.</li>
 *   <li>{@link io.embstore.benchmarks.VectorFileGenerator} writes the synthetic vector files; {@code QueryTimer} times
 *       queries for the peer harness in {@code benchmarks/peers/}; {@code PeerProbe} is that harness's Java side for
 *       open, gather, reader memory and optimizer rows.</li>
 * </ul>
 *
 * <p>Build and run (JDK 25):
 * <pre>
 * export JAVA_HOME=/usr/lib/jvm/temurin-25-jdk-amd64 MAVEN_OPTS="--sun-misc-unsafe-memory-access=allow"
 * mvn -q -B -DskipTests -pl benchmarks -am package
 * $JAVA_HOME/bin/java --enable-native-access=ALL-UNNAMED -jar benchmarks/target/benchmarks.jar &lt;regex&gt; ...
 * </pre>
 * Stores are created once under {@code /tmp/embstore-bench} (or {@code -Dembstore.bench.dir=...}, passed to the
 * forks with {@code -jvmArgsAppend}) and reused by later runs; see {@link io.embstore.benchmarks.BenchStores}.
 * Results and the commands that produced them are in {@code benchmarks/RESULTS.md}.
 */
package io.embstore.benchmarks;
