/**
 * {@code embed} on Spark: the manifest reader and its rules, the partition code that wires the shared model into
 * {@code mapPartitions}, the output layout (embeddings, errors, the model record) shared with the local runner and
 * the stream, and the run summary. The decoding and inference themselves live in the udfs module.
 *
 * <p>Spark: EmbedJob, EmbedPartition, EmbedOutput, ManifestReader.
 */
package io.imgvec.jobs.embed;
