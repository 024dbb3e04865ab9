/**
 * Test fixtures every module's tests share (test scope only): the printed, replayable seed of a randomised test
 * ({@link io.embstore.testkit.Seeds}), a small tmpfs that really fills up ({@link io.embstore.testkit.SmallTmpfs}),
 * child JVMs started from the test classpath ({@link io.embstore.testkit.JavaChild}) and a python3 with NumPy to
 * compare with ({@link io.embstore.testkit.Numpy}). Depends on JUnit alone.
 */
package io.embstore.testkit;
