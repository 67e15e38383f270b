/**
 * The small commands: {@code query} (neighbours from a published index), {@code sql} (Spark SQL over the outputs),
 * {@code plan} (time, cost and index size before a run) and {@code demo}.
 *
 * <p>Spark: SqlCommand, PlanCommand, Demo.
 */
package io.imgvec.jobs.commands;
