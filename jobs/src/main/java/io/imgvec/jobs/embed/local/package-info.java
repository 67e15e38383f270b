/**
 * {@code embed} without Spark, for runs on one machine: a manifest reader with Spark's CSV and JSON rules, task
 * threads laid out as Spark lays out its tasks, Parquet files written as Spark writes them, staged and committed
 * whole.
 *
 * <p>Spark: none.
 */
package io.imgvec.jobs.embed.local;
