/**
 * One lookup endpoint (POST {@code {"ids": [...]}} to {@code /lookup}, answer: a {@code .npy} float32 array of the
 * rows) on three server libraries, to choose the one {@code embstore serve} is built on. Every prototype calls the same
 * {@link io.embstore.benchmarks.serverlibrary.NpyLookup} with the request's bytes and sends the bytes it returns, so
 * only the library differs. Results and commands: {@code benchmarks/results/server-library.md}.
 */
package io.embstore.benchmarks.serverlibrary;
