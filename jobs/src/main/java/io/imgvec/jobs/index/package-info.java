/**
 * {@code build-index} and {@code update-index} on Spark: embeddings read as vector sources, the distributed add on
 * the executors, and the live view of a stream's output. Planning, training, measuring and publishing are plain Java
 * in the index-builder module; these classes feed it.
 *
 * <p>Spark: BuildIndexJob, UpdateIndexJob, SparkDistributedAdd, SparkVectorSource, LiveEmbeddings.
 */
package io.imgvec.jobs.index;
