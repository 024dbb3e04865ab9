/**
 * A fastText-style text classifier whose word and n-gram rows live in an embedding store: tokenizer
 * ({@link io.embstore.classifier.Tokenizer}), vocabulary, model file ({@link io.embstore.classifier.ClassifierModel}),
 * training on the trainer's sparse optimizers ({@link io.embstore.classifier.ClassifierTraining}), prediction
 * ({@link io.embstore.classifier.TextClassifier}) and the training chart; and the intrinsic evaluations of word vectors
 * ({@link io.embstore.classifier.WordEvaluation}: word-pair similarity, analogies).
 *
 * <p>A missing or unusable model, training file or evaluation file is a
 * {@link io.embstore.classifier.ClassifierException} (or, for a malformed line of input, the formats'
 * {@link io.embstore.formats.InputException}).
 */
package io.embstore.classifier;
