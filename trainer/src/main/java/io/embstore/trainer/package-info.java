/**
 * Sparse optimizers on mapped tables: lazy Adam, row-wise Adagrad and SGD, dirty-row tracking and crash-safe
 * checkpoints. Not built yet: the trainer issue fills this package. The module exists so that the dependency
 * direction tools -> trainer -> store is fixed from the start.
 */
package io.embstore.trainer;
